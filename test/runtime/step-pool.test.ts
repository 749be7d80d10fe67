import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { step } from '../../src/engine/step.ts';
import { CoachRuntime } from '../../src/runtime/coach-runtime.ts';
import { encodeRecord } from '../../src/runtime/record-codec.ts';
import { StepPool } from '../../src/runtime/step-pool.ts';
import { PatientStore, type Plan, type PlanInput, planSafely } from '../../src/runtime/store.ts';
import { realContent } from '../support/content.ts';
import { duePatient, seedDuePatients } from '../support/fanout.ts';
import { useRedis } from '../support/redis.ts';
import { RecordingPorts } from '../support/runtime.ts';

const redisFixture = useRedis();
const pool = new StepPool({ contentDir: 'content', threads: 1 });
afterAll(() => pool.close());

const now = Date.parse('2026-03-02T08:00:00Z');
const { state: template } = duePatient(now);
const timer = (patientId: string, id = `timer|${patientId}`) =>
  ({ id, patientId, kind: 'timer', timer: 'drills_due' }) as const;
const record = (id: string) => encodeRecord({ ...template, id }, new Map(), Buffer.alloc(0), []);

/** Plans with their bytes as Buffers, wherever they were made, to compare them. */
function comparable(plans: (Plan | null)[]) {
  return plans.map((plan) => {
    if (plan === null || (plan.write.kind !== 'record' && plan.write.kind !== 'cleared')) return plan;
    const { write } = plan;
    const pending = write.pending && Buffer.from(write.pending);
    return {
      ...plan,
      write:
        write.kind === 'record'
          ? { ...write, record: Buffer.from(write.record), pending }
          : { ...write, pending },
    };
  });
}

describe('StepPool', () => {
  it('plans a batch on its thread exactly as the store does on its own', async () => {
    const inputs: PlanInput[] = [
      { key: 'k1', raw: record('tg:1'), seenAt: null, event: timer('tg:1'), now },
      { key: 'k2', raw: record('tg:2'), seenAt: null, event: timer('tg:2'), now },
      // No record (a patient deleted since): nothing to write.
      { key: 'k3', raw: null, seenAt: null, event: timer('tg:3'), now },
    ];
    const here = inputs.map((input) =>
      planSafely(input, (state) => step(state, input.event, input.now, realContent())),
    );
    const there = await pool.planMany(inputs);
    expect(here.map((plan) => plan?.write.kind)).toEqual(['record', 'record', 'none']);
    expect(comparable(there)).toEqual(comparable(here));
    // The push, with its session, was made on the thread.
    expect(there[0]?.result.effects.some((effect) => effect.type === 'send')).toBe(true);
    // The new state came back in the record alone, and is read from it when asked for.
    expect(Object.getOwnPropertyDescriptor(there[0]?.result, 'state')?.get).toBeTypeOf('function');
    expect(there[0]?.result.state).toEqual(here[0]?.result.state);
  });

  it('has no plan for an event seen before or a record that does not read, as the store has none', async () => {
    const plans = await pool.planMany([
      { key: 'k1', raw: record('tg:1'), seenAt: String(now), event: timer('tg:1'), now },
      { key: 'k2', raw: Buffer.from([1, 0, 0, 0, 9, 0, 0, 7]), seenAt: null, event: timer('tg:2'), now },
      { key: 'k3', raw: record('tg:1'), seenAt: null, event: timer('tg:3'), now },
    ]);
    expect(plans).toEqual([null, null, null]);
  });

  it('serves a runtime’s fan-out: each patient stepped, pushed and settled once', async () => {
    const prefix = redisFixture.prefix();
    const ids = ['tg:1', 'tg:2', 'tg:3'];
    await seedDuePatients(redisFixture.redis, prefix, template, ids, now);
    const store = new PatientStore(redisFixture.redis, { prefix });
    const ports = new RecordingPorts();
    const runtime = new CoachRuntime(store, realContent(), ports, () => now, pino({ level: 'silent' }), {
      planMany: pool.planMany,
    });
    const results = await runtime.handleMany(ids.map((id) => timer(id)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(ports.direct.map((key) => key.split('#')[0])).toEqual(ids.map((id) => `timer|${id}`));
    for (const id of ids) {
      expect((await store.load(id))?.ask?.q).toBe('outcome');
      expect(await store.unsettled(id)).toEqual([]);
    }
    await runtime.handleMany(ids.map((id) => timer(id)));
    expect(ports.sent).toHaveLength(3);
  });

  it('leaves the planning to the runtime’s own thread when the pool fails, and says so', async () => {
    const prefix = redisFixture.prefix();
    const ids = ['tg:1', 'tg:2'];
    await seedDuePatients(redisFixture.redis, prefix, template, ids, now);
    const store = new PatientStore(redisFixture.redis, { prefix });
    const ports = new RecordingPorts();
    const errors: { msg: string }[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => errors.push(JSON.parse(line)) });
    const runtime = new CoachRuntime(store, realContent(), ports, () => now, log, {
      planMany: async () => {
        throw new Error('the thread exited');
      },
    });
    const results = await runtime.handleMany(ids.map((id) => timer(id)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(ports.sent).toHaveLength(2);
    expect(errors.map((e) => e.msg)).toEqual(['planning steps elsewhere failed; planned here']);
  });
});
