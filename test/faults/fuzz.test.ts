import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type OutboundMessage, TIMERS } from '../../src/engine/events.ts';
import { InvalidEventError } from '../../src/runtime/coach-runtime.ts';
import { useRedis } from '../support/redis.ts';
import { makeRuntime } from '../support/runtime.ts';

const redisFixture = useRedis();
const EVENTS = Number(process.env.FUZZ_EVENTS ?? 50_000);
const PATIENTS = 40;

/** Values a button could carry, and values no button ever carries. */
const value = fc.oneof(
  fc.constantFrom(
    'yes',
    'no',
    'done',
    'partly',
    'skipped',
    'snooze',
    'about_right',
    'too_hard',
    'none',
    'severe',
  ),
  fc.integer({ min: -3, max: 14 }).map(String),
  fc.constantFrom('08:00', '22:00-07:00', 'Europe/Berlin', 'de', 'en', 'language', 'drill_time', 'done'),
  fc.string({ maxLength: 60 }),
);
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '',
    ' ',
    '7',
    'ten',
    '/start',
    '/start COACH-1',
    '/delete',
    '/today extra words',
    'Berlin',
    '25:99',
  ),
  fc.constant('x'.repeat(4096)),
  fc.constantFrom('I lost control of my bladder', 'numbness in the saddle area', 'my back hurts'),
);

/** Well-formed events of every kind, many stale, forged or nonsensical; and some that are not events at all. */
const event = fc.oneof(
  // Mostly a tap on the latest buttons the patient was shown, as people do; else stale or forged.
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('tap'), pick: fc.nat() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('choice'), seq: fc.integer({ min: 0, max: 400 }), value }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('text'), text }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('command'),
      command: fc.oneof(fc.constantFrom(...COMMANDS), fc.string({ maxLength: 20 })),
      args: fc.string({ maxLength: 30 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('timer'), timer: fc.constantFrom(...TIMERS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reachability'), reachable: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('profile'),
      timezone: fc.oneof(
        fc.constantFrom('Asia/Tokyo', 'Europe/Berlin', 'Nowhere/Land'),
        fc.string({ maxLength: 64 }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('coach'),
      coachId: fc.constant('tg:900'),
      command: fc.oneof(
        fc.constantFrom({ action: 'clear' }, { action: 'pause' }, { action: 'resume' }),
        fc.record({ action: fc.constant('note'), text: fc.string({ minLength: 1, maxLength: 50 }) }),
        fc.record({
          action: fc.constant('set_level'),
          ladder: fc.constantFrom('deep_core', 'glutes', 'balance'),
          level: fc.integer({ min: 1, max: 9 }),
          lock: fc.boolean(),
        }),
      ),
    }),
  },
  // Not events: wrong types, unknown kinds, missing fields.
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.record({ kind: fc.constant('choice'), seq: fc.string(), value: fc.integer() }),
      fc.record({ kind: fc.string({ maxLength: 10 }), text: fc.anything() }),
      fc.record({ kind: fc.constant('text'), text: fc.string({ minLength: 4097, maxLength: 5000 }) }),
      fc.constant({}),
    ),
  },
);

describe(`fuzzed inbound events (${EVENTS.toLocaleString('en')})`, () => {
  it('never crash the engine, always leave valid states, and every patient still answers /help', async () => {
    const prefix = redisFixture.prefix();
    let now = Date.parse('2026-06-01T06:00:00Z');
    const { runtime, store, ports } = makeRuntime(redisFixture.redis, prefix, () => now);
    const samples = fc.sample(
      fc.tuple(fc.integer({ min: 1, max: PATIENTS }), event, fc.integer({ min: 0, max: 3 * 3600_000 })),
      { numRuns: EVENTS, seed: 20261123 },
    );
    let refused = 0;
    let redelivered = 0;
    const latest = new Map<string, OutboundMessage>();
    for (const [i, [patient, payload, advance]] of samples.entries()) {
      now += advance;
      // Some events repeat an earlier id: a redelivery must change nothing.
      const id = i % 97 === 0 && i > 0 ? `fuzz-${i - 1}` : `fuzz-${i}`;
      if (id !== `fuzz-${i}`) redelivered++;
      const patientId = `tg:${patient}`;
      let input: Record<string, unknown> = { ...payload };
      if ('kind' in payload && payload.kind === 'tap') {
        const shown = latest.get(patientId);
        const choices = shown?.choices?.flat() ?? [];
        // Half the patients cooperate (consent, then no red flags) so the fuzz reaches the daily rhythm.
        const cooperative = patient <= PATIENTS / 2;
        const preferred = /Is that okay\?/.test(shown?.text ?? '') ? 'yes' : 'no';
        const pick =
          (cooperative ? choices.find((c) => c.value === preferred) : undefined) ??
          choices[(payload as { pick: number }).pick % Math.max(1, choices.length)];
        input =
          shown && pick
            ? { kind: 'choice', seq: shown.seq, value: pick.value }
            : { kind: 'command', command: 'start', args: '' };
      }
      const sentBefore = ports.sent.length;
      try {
        await runtime.handle({ id, patientId, ...input });
      } catch (error) {
        if (!(error instanceof InvalidEventError)) throw error;
        refused++;
      }
      for (const { message } of ports.sent.slice(sentBefore))
        if (message.choices) latest.set(patientId, message);
    }
    expect(refused).toBeGreaterThan(0);
    // The fuzz reaches past the first question: some patients are set up or further, some held.
    const statuses = new Set<string>();
    for (let p = 1; p <= PATIENTS; p++) statuses.add((await store.load(`tg:${p}`))?.status ?? 'deleted');
    console.log(
      `fuzz: ${samples.length} events to ${PATIENTS} patients, ${refused} refused as invalid, ` +
        `${redelivered} redelivered ids; statuses reached: ${[...statuses].sort().join(', ')}`,
    );
    expect(statuses.size).toBeGreaterThanOrEqual(3);
    expect(statuses).toContain('active');
    for (let p = 1; p <= PATIENTS; p++) {
      // load() parses with zod: a state that does not fit the schema throws here.
      const state = await store.load(`tg:${p}`);
      const before = ports.sent.length;
      await runtime.handle({
        id: `help-${p}`,
        patientId: `tg:${p}`,
        kind: 'command',
        command: 'help',
        args: '',
      });
      const reply = ports.sent
        .slice(before)
        .map((s) => s.message.text)
        .join('\n');
      if (state === null) expect(reply).not.toBe('');
      else expect(reply).toMatch(/What I can do|Das kann ich für dich tun/);
    }
  }, 600_000);
});
