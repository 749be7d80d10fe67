import type { Content } from '../../src/content/content.ts';
import type { Locale } from '../../src/content/schema.ts';
import type { Effect, InboundEvent, OutboundMessage, Timer } from '../../src/engine/events.ts';
import type { Difficulty, Outcome, PainDuring, PatientState } from '../../src/engine/state.ts';
import { step } from '../../src/engine/step.ts';
import { nextWallTime } from '../../src/time/local.ts';

/** An event without the fields the simulation fills in. */
type Payload = InboundEvent extends infer E
  ? E extends InboundEvent
    ? Omit<E, 'id' | 'patientId'>
    : never
  : never;

export interface OnboardingAnswers {
  emergency: ('yes' | 'no')[];
  age: string;
  clinician: ('yes' | 'no')[];
  baseline: number;
  /** Eight agree (1) / disagree (0) answers, then the bothersomeness option 0–4. */
  startBack: number[];
  sideLeft: number;
  sideRight: number;
  stance: number;
  slBridgeOk: boolean;
  kneeChestThighLifts: boolean;
  kneeFalloutRocks: boolean;
  drillTime: string;
  quiet: string;
}

export const HEALTHY: OnboardingAnswers = {
  emergency: ['no', 'no', 'no'],
  age: '20_39',
  clinician: ['no', 'no', 'no', 'no', 'no', 'no', 'no'],
  baseline: 4,
  startBack: [0, 0, 0, 0, 0, 0, 0, 0, 1],
  sideLeft: 2,
  sideRight: 2,
  stance: 4,
  slBridgeOk: true,
  kneeChestThighLifts: false,
  kneeFalloutRocks: false,
  drillTime: '08:00',
  quiet: '22:00-07:00',
};

export interface CheckIn {
  outcome: Outcome;
  pain: number;
  difficulty?: Difficulty;
  painDuring?: PainDuring;
}

/**
 * A patient talking to the pure engine, with a clock the test moves. Every event gets a fresh id;
 * every effect is kept so tests can assert on what the coach did.
 */
export class SimPatient {
  state: PatientState | null = null;
  effects: Effect[] = [];
  now: number;
  private counter = 0;

  constructor(
    readonly content: Content,
    readonly opts: { id?: string; locale?: Locale; timezone?: string; start?: string } = {},
  ) {
    this.now = Date.parse(opts.start ?? '2026-03-02T06:00:00Z');
  }

  get id(): string {
    return this.opts.id ?? 'sim:1';
  }

  get timezone(): string {
    return this.opts.timezone ?? 'Europe/Berlin';
  }

  /** Sends one event; returns only the effects of this step. */
  send(payload: Payload): Effect[] {
    const event = {
      id: `e${++this.counter}`,
      patientId: this.id,
      localeHint: this.opts.locale ?? 'en',
      tzHint: this.timezone,
      ...payload,
    } as InboundEvent;
    const result = step(this.state, event, this.now, this.content);
    this.state = result.state;
    this.effects.push(...result.effects);
    return result.effects;
  }

  text(text: string): Effect[] {
    return this.send({ kind: 'text', text });
  }

  command(command: string, args = ''): Effect[] {
    return this.send({ kind: 'command', command, args });
  }

  timer(timer: Timer): Effect[] {
    return this.send({ kind: 'timer', timer });
  }

  /** Taps a button of the pending question. */
  tap(value: string | number): Effect[] {
    const ask = this.state?.ask;
    if (!ask) throw new Error(`no pending question to answer with ${value}`);
    return this.send({ kind: 'choice', seq: ask.seq, value: String(value) });
  }

  expectAsk(q: string): this {
    if (this.state?.ask?.q !== q) throw new Error(`expected question ${q}, pending is ${this.state?.ask?.q}`);
    return this;
  }

  answer(q: string, value: string | number): Effect[] {
    return this.expectAsk(q).tap(value);
  }

  onboard(overrides: Partial<OnboardingAnswers> = {}): this {
    const a = { ...HEALTHY, ...overrides };
    this.command('start');
    this.answer('consent', 'yes');
    for (const v of a.emergency) this.answer('emergency', v);
    this.answer('age', a.age);
    for (const v of a.clinician) this.answer('clinician', v);
    this.answer('baseline', a.baseline);
    for (const v of a.startBack) this.answer('startback', v);
    this.answer('side_left', a.sideLeft);
    this.answer('side_right', a.sideRight);
    this.answer('stance', a.stance);
    this.answer('sl_bridge', a.slBridgeOk ? 'yes' : 'no');
    this.answer('knee_chest', a.kneeChestThighLifts ? 'yes' : 'no');
    this.answer('knee_fallout', a.kneeFalloutRocks ? 'yes' : 'no');
    this.answer('drill_time', a.drillTime);
    this.answer('timezone', this.timezone);
    this.answer('quiet_hours', a.quiet);
    return this;
  }

  /** Moves the clock to the next local wall time (drill time by default). */
  advanceTo(wallTime = this.state?.schedule.drillTime ?? '08:00'): void {
    this.now = nextWallTime(this.now, wallTime, this.timezone);
  }

  /** One whole day: the scheduled push at drill time, then the check-in answered by buttons. */
  day(checkIn: CheckIn): Effect[] {
    this.advanceTo();
    const before = this.effects.length;
    this.timer('drills_due');
    if (this.state?.ask?.q === 'recheck') for (let i = 0; i < 3; i++) this.answer('recheck', 'no');
    this.answer('outcome', checkIn.outcome);
    this.answer('pain', checkIn.pain);
    if (checkIn.outcome !== 'skipped') {
      this.answer('difficulty', checkIn.difficulty ?? 'about_right');
      this.answer('pain_during', checkIn.painDuring ?? 'none');
    }
    return this.effects.slice(before);
  }

  messages(effects: Effect[] = this.effects): OutboundMessage[] {
    return effects.flatMap((e) => (e.type === 'send' ? [e.message] : []));
  }

  lastText(): string {
    return this.messages().at(-1)?.text ?? '';
  }

  allText(effects: Effect[] = this.effects): string {
    return this.messages(effects)
      .map((m) => m.text)
      .join('\n');
  }

  level(ladder: string): number | undefined {
    return this.state?.levels[ladder as keyof PatientState['levels']]?.level;
  }
}
