import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../src/engine/events.ts';
import { InvalidEventError } from '../../src/runtime/coach-runtime.ts';
import { nextWallTime } from '../../src/time/local.ts';
import { HEALTHY } from '../support/patient.ts';
import { useRedis } from '../support/redis.ts';
import { makeRuntime } from '../support/runtime.ts';

const redisFixture = useRedis();

type Payload = InboundEvent extends infer E
  ? E extends InboundEvent
    ? Omit<E, 'id' | 'patientId'>
    : never
  : never;

/** A patient talking to the real runtime and Redis store, answering by buttons. */
function remotePatient(redis: Redis = redisFixture.redis, prefix = redisFixture.prefix()) {
  let now = Date.parse('2026-03-02T06:00:00Z');
  let counter = 0;
  const patientId = `it:${Math.random().toString(36).slice(2)}`;
  const parts = makeRuntime(redis, prefix, () => now);
  const send = (payload: Payload, id = `ev${++counter}`) =>
    parts.runtime.handle({ id, patientId, localeHint: 'en', tzHint: 'Europe/Berlin', ...payload });
  const state = () => parts.store.load(patientId);
  const tap = async (value: string | number) => {
    const ask = (await state())?.ask;
    if (!ask) throw new Error('nothing to answer');
    return send({ kind: 'choice', seq: ask.seq, value: String(value) });
  };
  const onboard = async () => {
    await send({ kind: 'command', command: 'start', args: '' });
    const a = HEALTHY;
    for (const v of [
      'yes',
      ...a.emergency,
      a.age,
      ...a.clinician,
      a.baseline,
      ...a.startBack,
      a.sideLeft,
      a.sideRight,
      a.stance,
      'yes',
      'no',
      'no',
      a.drillTime,
      'Europe/Berlin',
      a.quiet,
    ]) {
      await tap(v);
    }
  };
  const day = async (c: { outcome: string; pain: number; difficulty?: string; painDuring?: string }) => {
    now = nextWallTime(now, '08:00', 'Europe/Berlin');
    await send({ kind: 'timer', timer: 'drills_due' }, `drills:${now}`);
    if ((await state())?.ask?.q === 'recheck') for (let i = 0; i < 3; i++) await tap('no');
    await tap(c.outcome);
    await tap(c.pain);
    if (c.outcome !== 'skipped') {
      await tap(c.difficulty ?? 'about_right');
      await tap(c.painDuring ?? 'none');
    }
  };
  return {
    ...parts,
    patientId,
    prefix,
    send,
    state,
    tap,
    onboard,
    day,
    setNow: (t: number) => (now = t),
    now: () => now,
  };
}

async function keysUnder(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

describe('the coach runtime on a real Redis store', () => {
  it('stops the journey at an emergency red flag and alerts the coach', async () => {
    const p = remotePatient();
    await p.send({ kind: 'command', command: 'start', args: 'COACH-1' });
    await p.tap('yes');
    await p.tap('no');
    await p.tap('yes');
    expect((await p.state())?.status).toBe('escalated');
    expect(p.ports.alerts).toEqual([
      expect.objectContaining({ patientId: p.patientId, coachCode: 'COACH-1', alert: 'emergency_red_flag' }),
    ]);
    expect(p.ports.schedules.at(-1)).toEqual({ patientId: p.patientId, schedule: null });
    const audit = await p.store.auditLog(p.patientId);
    expect(audit.map((a) => a.kind)).toContain('red_flag');
  });

  it('puts a patient who used a coach code on that coach’s roster once, when they use it', async () => {
    const p = remotePatient();
    await p.send({ kind: 'command', command: 'start', args: 'COACH-1' });
    expect(p.ports.joins).toEqual([{ patientId: p.patientId, code: 'COACH-1' }]);
    // Performed, so settled: nothing is left to replay.
    expect(await p.store.unsettled(p.patientId)).toEqual([]);
    await p.tap('yes');
    await p.send({ kind: 'command', command: 'start', args: '' });
    expect(p.ports.joins).toHaveLength(1);
  });

  it('regresses the trained ladders after a setback, with the reason stored and said', async () => {
    const p = remotePatient();
    await p.onboard();
    await p.day({ outcome: 'done', pain: 8, painDuring: 'moderate' });
    const state = await p.state();
    const trained = state?.days.at(-1)?.session?.drills.map((d) => d.ladder) ?? [];
    expect(state?.days.at(-1)?.decision).toBe('setback');
    for (const change of state?.levelChanges ?? []) {
      expect(trained).toContain(change.ladder);
      expect(change.to).toBe(change.from - 1);
      expect(change.reason).toEqual({ key: 'reason.setback_high', params: { pain: 8 } });
    }
    expect(state?.levelChanges.length).toBeGreaterThan(0);
    expect(p.ports.sent.at(-1)?.message.text).toMatch(/pain 8 today/);
    expect(p.ports.alerts.map((a) => a.alert)).toContain('pain_high');
    const decisions = (await p.store.auditLog(p.patientId)).filter((a) => a.kind === 'decision');
    expect(decisions.at(-1)?.detail).toMatchObject({ kind: 'setback' });
  });

  it('progresses after three good sessions', async () => {
    const p = remotePatient();
    await p.onboard();
    const before = (await p.state())?.levels.deep_core?.level ?? 0;
    for (let d = 0; d < 3; d++) await p.day({ outcome: 'done', pain: 3, difficulty: 'too_easy' });
    const state = await p.state();
    expect(state?.days.at(-1)?.decision).toBe('breakthrough');
    expect(state?.levels.deep_core?.level).toBe(before + 1);
  });

  it('loses no update when two steps for one patient race on separate connections', async () => {
    const prefix = redisFixture.prefix();
    const p = remotePatient(redisFixture.redis, prefix);
    await p.onboard();
    await p.send({ kind: 'command', command: 'checkin', args: '' });
    const ask = (await p.state())?.ask;
    // A second process: its own connection, its own runtime, the same store.
    const other = makeRuntime(redisFixture.connect(), prefix, p.now);
    await Promise.all([
      p.send({ kind: 'choice', seq: ask?.seq ?? 0, value: '5' }),
      other.runtime.handle({
        id: 'coach-note-1',
        patientId: p.patientId,
        kind: 'coach',
        coachId: 'c',
        command: { action: 'note', text: 'Great week!' },
      }),
      other.runtime.handle({
        id: 'coach-note-2',
        patientId: p.patientId,
        kind: 'coach',
        coachId: 'c',
        command: { action: 'note', text: 'Keep going.' },
      }),
    ]);
    const state = await p.state();
    expect(state?.days.at(-1)?.pain).toBe(5);
    expect(state?.coachNotes.map((n) => n.text).sort()).toEqual(['Great week!', 'Keep going.']);
  });

  it('handles a repeated event id once', async () => {
    const p = remotePatient();
    await p.send({ kind: 'command', command: 'start', args: '' }, 'same-id');
    const first = await p.state();
    const sent = p.ports.sent.length;
    const again = await p.send({ kind: 'command', command: 'help', args: '' }, 'same-id');
    expect(again.duplicate).toBe(true);
    expect(p.ports.sent.length).toBe(sent);
    expect(await p.state()).toEqual(first);
  });

  it('exports everything and /delete leaves no key behind', async () => {
    const p = remotePatient();
    await p.onboard();
    await p.day({ outcome: 'done', pain: 3 });
    await p.send({ kind: 'command', command: 'export', args: '' });
    const exported = p.ports.exports.at(-1)?.data;
    expect(JSON.parse(exported?.json ?? '{}').state.id).toBe(p.patientId);
    expect(exported?.csv.split('\n')[0]).toContain('pain');
    expect(await keysUnder(redisFixture.redis, `${p.prefix}*`)).not.toEqual([]);
    await p.send({ kind: 'command', command: 'delete', args: '' });
    await p.tap('yes');
    expect(await keysUnder(redisFixture.redis, `${p.prefix}*`)).toEqual([]);
    expect(p.ports.schedules.at(-1)).toEqual({ patientId: p.patientId, schedule: null });
  });

  it('replays the effects of a step whose sends failed after the commit, with the same keys', async () => {
    const p = remotePatient();
    p.ports.failSends = 1;
    await expect(p.send({ kind: 'command', command: 'start', args: '' }, 'start-1')).rejects.toThrow(
      /unreachable/,
    );
    expect((await p.state())?.ask?.q).toBe('consent');
    expect(await p.store.unsettled(p.patientId)).toEqual(['start-1']);
    // The platform redelivers the update: nothing is stepped again, the messages go out.
    const again = await p.send({ kind: 'command', command: 'start', args: '' }, 'start-1');
    expect(again.duplicate).toBe(true);
    // Both messages of the step went out as one delivery, under one key; a redelivery may find the
    // key used, so it is not fresh.
    expect(p.ports.sent.map((s) => [s.key, s.fresh])).toEqual([
      ['start-1#0', false],
      ['start-1#0', false],
    ]);
    expect(await p.store.unsettled(p.patientId)).toEqual([]);
    // Once settled, a further redelivery does nothing at all.
    await p.send({ kind: 'command', command: 'start', args: '' }, 'start-1');
    expect(p.ports.sent).toHaveLength(2);
  });

  it('replays a failed step’s effects once when nobody redelivers the event', async () => {
    const p = remotePatient();
    p.ports.failSends = 1;
    await expect(p.send({ kind: 'command', command: 'start', args: '' }, 'start-1')).rejects.toThrow(
      /unreachable/,
    );
    const unsettled = async (before: number) => {
      const found = [];
      for await (const u of p.store.unsettledBefore(before)) found.push(u);
      return found;
    };
    // Found only once it is older than the cut-off, and only under this store's prefix.
    expect(await unsettled(p.now())).toEqual([]);
    expect(await unsettled(p.now() + 1)).toEqual([
      { patientId: p.patientId, eventId: 'start-1', at: p.now() },
    ]);
    expect(await p.runtime.replay(p.patientId, 'start-1')).toBe(true);
    expect(p.ports.sent.map((s) => [s.key, s.fresh])).toEqual([
      ['start-1#0', false],
      ['start-1#0', false],
    ]);
    expect(await unsettled(p.now() + 1)).toEqual([]);
    expect(await p.runtime.replay(p.patientId, 'start-1')).toBe(false);
    expect(p.ports.sent).toHaveLength(2);
    // The state was stepped once: the consent question, not a second greeting.
    expect((await p.state())?.ask?.q).toBe('consent');
  });

  it('runs many patients’ timers at once: each stepped once, pushes straight out, a repeat after', async () => {
    const prefix = redisFixture.prefix();
    const p = remotePatient(redisFixture.redis, prefix);
    const q = remotePatient(redisFixture.redis, prefix);
    await p.onboard();
    await q.onboard();
    p.setNow(nextWallTime(p.now(), '08:00', 'Europe/Berlin'));
    const timer = (patientId: string, id: string) => ({ id, patientId, kind: 'timer', timer: 'drills_due' });
    const before = p.ports.sent.length;
    const results = await p.runtime.handleMany([
      timer(p.patientId, 'd1'),
      { id: 'bad', patientId: p.patientId, kind: 'timer', timer: 'whenever' },
      timer(q.patientId, 'd2'),
      timer(p.patientId, 'd3'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidEventError);
    // One push each, straight out; the second timer of the same day for p sends nothing.
    expect(p.ports.direct.map((key) => key.split('#')[0])).toEqual(['d1', 'd2']);
    expect(p.ports.sent.slice(before).map((s) => [s.patientId, s.fresh])).toEqual([
      [p.patientId, true],
      [q.patientId, true],
    ]);
    for (const patient of [p, q]) {
      expect((await patient.state())?.ask?.q).toBe('outcome');
      expect(await p.store.unsettled(patient.patientId)).toEqual([]);
    }
    // Run again (a retried job): nothing is stepped or sent twice.
    await p.runtime.handleMany([timer(p.patientId, 'd1'), timer(q.patientId, 'd2')]);
    expect(p.ports.sent).toHaveLength(before + 2);
  });

  it('refuses a malformed event with a clear error and stores nothing', async () => {
    const p = remotePatient();
    await expect(
      p.runtime.handle({ id: 'x', patientId: p.patientId, kind: 'choice', seq: 'one', value: 'yes' }),
    ).rejects.toThrow(InvalidEventError);
    await expect(p.runtime.handle({ id: 'x', patientId: p.patientId, kind: 'teleport' })).rejects.toThrow(
      /invalid event at kind/,
    );
    expect(await keysUnder(redisFixture.redis, `${p.prefix}*`)).toEqual([]);
  });
});
