import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Locale } from '../../src/content/schema.ts';
import type { Choice, OutboundMessage } from '../../src/engine/events.ts';
import type { CoachRuntime, EffectPorts } from '../../src/runtime/coach-runtime.ts';
import { LocalTimers } from './local-timers.ts';

/** A clock the terminal can move forward, so a newcomer can live a week in a minute. */
export class SimulatedClock {
  private offset = 0;
  constructor(start?: number) {
    if (start !== undefined) this.offset = start - Date.now();
  }
  now = (): number => Date.now() + this.offset;
  advanceTo(at: number): void {
    this.offset = Math.max(this.offset, at - Date.now());
  }
}

export interface TerminalOptions {
  input: Readable;
  output: Writable;
  patientId: string;
  locale: Locale;
  timezone: string;
  clock: SimulatedClock;
  exportDir: string;
}

const HELP = `Terminal chat: type an answer, a button's number, or a /command (/help lists them).
Clock: !tomorrow jumps to the next drill time, !evening to the next reminder time,
       !wait 2h (or 30m, 1d) moves the clock, !time shows it, !quit leaves.`;

/**
 * The terminal adapter: stdin lines become engine events, engine messages become printed text with
 * numbered buttons. Its ports also serve the terminal's own timers and export files.
 */
export class TerminalChat {
  readonly timers = new LocalTimers();
  private lastChoices: { seq: number; choices: Choice[] } | null = null;
  private runtime: CoachRuntime | null = null;

  constructor(private readonly opts: TerminalOptions) {}

  readonly ports: EffectPorts = {
    send: async (_patientId, messages) => {
      for (const message of messages) this.print(message);
    },
    alertCoach: async ({ alert, text }) => this.write(`\n[coach alert: ${alert}] ${text}\n`),
    // The terminal chat has no coaches; the code stays in the state, as on a platform without them.
    joinCoach: async () => {},
    schedule: async (patientId, schedule) => this.timers.set(patientId, schedule),
    wakeAt: async (patientId, at, timer) => this.timers.wakeAt(patientId, at, timer),
    deliverExport: async (patientId, data) => {
      mkdirSync(this.opts.exportDir, { recursive: true });
      const base = join(this.opts.exportDir, `${patientId.replace(/[^\w.-]/g, '_')}`);
      writeFileSync(`${base}.json`, data.json);
      writeFileSync(`${base}.csv`, data.csv);
      this.write(`[export written to ${base}.json and ${base}.csv]\n`);
    },
  };

  attach(runtime: CoachRuntime): void {
    this.runtime = runtime;
  }

  private write(text: string): void {
    this.opts.output.write(text);
  }

  private print(message: OutboundMessage): void {
    const lines = [`\ncoach › ${message.text.replace(/\n/g, '\n        ')}`];
    if (message.choices && message.seq !== undefined) {
      const flat = message.choices.flat();
      this.lastChoices = { seq: message.seq, choices: flat };
      lines.push(`        ${flat.map((c, i) => `[${i + 1}] ${c.label}`).join('  ')}`);
    }
    this.write(`${lines.join('\n')}\n`);
  }

  private event(extra: Record<string, unknown>) {
    return {
      id: `terminal:${randomUUID()}`,
      patientId: this.opts.patientId,
      localeHint: this.opts.locale,
      tzHint: this.opts.timezone,
      ...extra,
    };
  }

  /** Runs every timer due up to the clock's present, in order, as the real scheduler would. */
  async fireDue(from: number): Promise<void> {
    const to = this.opts.clock.now();
    for (const due of this.timers.due(from, to)) {
      await this.runtime?.handle({
        id: `timer:${due.timer}:${due.at}`,
        patientId: due.patientId,
        kind: 'timer',
        timer: due.timer,
      });
    }
  }

  private async clockCommand(line: string): Promise<boolean> {
    const clock = this.opts.clock;
    const before = clock.now();
    const [cmd, arg] = line.slice(1).trim().split(/\s+/);
    if (cmd === 'time') {
      this.write(`[clock: ${new Date(before).toISOString()}]\n`);
      return true;
    }
    if (cmd === 'quit') return false;
    let target: number | undefined;
    if (cmd === 'tomorrow' || cmd === 'evening') {
      target = this.timers.next(
        this.opts.patientId,
        cmd === 'tomorrow' ? 'drills_due' : 'checkin_reminder',
        before,
      );
      if (target === undefined) {
        this.write('[no schedule yet: finish setting up first]\n');
        return true;
      }
    } else if (cmd === 'wait') {
      const m = (arg ?? '').match(/^(\d+)([mhd])$/);
      if (!m) {
        this.write('[usage: !wait 30m | 2h | 1d]\n');
        return true;
      }
      target = before + Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
    } else {
      this.write(`${HELP}\n`);
      return true;
    }
    clock.advanceTo(target);
    this.write(`[clock: ${new Date(target).toISOString()}]\n`);
    await this.fireDue(before);
    return true;
  }

  /** Sends a line as if typed. */
  async send(text: string): Promise<void> {
    await this.runtime?.handle(this.event({ kind: 'text', text }));
  }

  private async handleLine(raw: string): Promise<boolean> {
    const line = raw.trim();
    if (line === '') return true;
    if (line.startsWith('!')) return this.clockCommand(line);
    const number = /^\d+$/.test(line) ? Number(line) : undefined;
    const picked = number !== undefined ? this.lastChoices?.choices[number - 1] : undefined;
    // A bare number picks a button, except where the buttons are themselves numbers (pain 0–10).
    const isScale = this.lastChoices?.choices.every((c) => /^\d+$/.test(c.label)) ?? false;
    if (picked && this.lastChoices && !isScale) {
      await this.runtime?.handle(
        this.event({ kind: 'choice', seq: this.lastChoices.seq, value: picked.value }),
      );
    } else {
      await this.runtime?.handle(this.event({ kind: 'text', text: line.slice(0, 4096) }));
    }
    return true;
  }

  /** Reads lines until end of input or !quit; errors are shown and the chat goes on. */
  async run(): Promise<void> {
    this.write(`${HELP}\n`);
    const rl = createInterface({ input: this.opts.input, terminal: false });
    let last = this.opts.clock.now();
    for await (const line of rl) {
      await this.fireDue(last);
      last = this.opts.clock.now();
      try {
        if (!(await this.handleLine(line))) break;
      } catch (error) {
        this.write(`[error: ${error instanceof Error ? error.message : String(error)}]\n`);
      }
      last = this.opts.clock.now();
    }
    rl.close();
  }
}
