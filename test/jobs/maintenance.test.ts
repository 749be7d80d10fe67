import type { ScheduledTask } from 'node-cron';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { redisRunCoordinator, startPendingReplay, startScheduleRepair } from '../../jobs/maintenance.ts';
import { dueMember, ScheduleStore } from '../../jobs/schedule-store.ts';
import { useRedis } from '../support/redis.ts';
import { makeRuntime } from '../support/runtime.ts';

const redisFixture = useRedis();
const tasks: ScheduledTask[] = [];
afterEach(async () => {
  for (const task of tasks.splice(0)) await task.destroy();
});

describe('maintenance', () => {
  it('lets one holder of a run key through until its lease ends', async () => {
    const prefix = redisFixture.prefix();
    const a = redisRunCoordinator(redisFixture.redis, prefix, 'a');
    const b = redisRunCoordinator(redisFixture.redis, prefix, 'b');
    expect(await a.shouldRun('sweep@1', 200)).toBe(true);
    expect(await b.shouldRun('sweep@1', 200)).toBe(false);
    expect(await b.shouldRun('sweep@2', 200)).toBe(true);
    await vi.waitFor(async () => expect(await b.shouldRun('sweep@1', 200)).toBe(true));
  });

  it('repairs a lost schedule entry, one process at a time', async () => {
    const prefix = redisFixture.prefix();
    const store = new ScheduleStore(redisFixture.redis, prefix);
    const now = Date.parse('2026-03-02T06:00:00Z');
    await store.set(
      'p1',
      { timezone: 'UTC', drillTime: '08:00', reminderTime: '20:00', quietHours: null },
      now,
    );
    await redisFixture.redis.zrem(store.dueKey, dueMember('drills_due', 'p1'));

    const runs: { instance: string; at: string }[] = [];
    for (const instance of ['one', 'two']) {
      const task = startScheduleRepair({
        redis: redisFixture.redis,
        prefix,
        owner: instance,
        store,
        clock: () => now,
        log: pino({ level: 'silent' }),
        cron: '* * * * * *',
      });
      task.on('execution:finished', (ctx) => {
        runs.push({ instance, at: ctx.date.toISOString() });
      });
      tasks.push(task);
    }
    await vi.waitFor(async () => expect(await redisFixture.redis.zcard(store.dueKey)).toBe(2), {
      timeout: 5000,
    });
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    const perTick = new Map<string, number>();
    for (const run of runs) perTick.set(run.at, (perTick.get(run.at) ?? 0) + 1);
    expect([...perTick.values()].every((n) => n === 1)).toBe(true);
  });

  it('performs effects nobody confirmed, once, one process at a time, and reports what it cannot read', async () => {
    const prefix = redisFixture.prefix();
    const now = Date.parse('2026-03-02T06:00:00Z');
    const { runtime, store, ports } = makeRuntime(redisFixture.redis, prefix, () => now);
    // A Slack message whose step committed but whose reply never reached the outbox.
    ports.failSends = 1;
    const start = { id: 'sl-1', patientId: 'sl:T1:U1', kind: 'command', command: 'start', args: '' };
    await expect(runtime.handle(start)).rejects.toThrow(/unreachable/);
    // An entry an earlier version wrote (a bare list), and one nobody can read.
    await runtime.handle({ ...start, id: 'sl-2', patientId: 'sl:T1:U2' });
    const u2 = store.keysOf('sl:T1:U2').pending;
    await redisFixture.redis.hset(
      u2,
      'old',
      JSON.stringify([{ type: 'wake_at', at: now, timer: 'snooze_due' }]),
    );
    await redisFixture.redis.hset(u2, 'broken', '{"at":');

    const errors: Record<string, unknown>[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => errors.push(JSON.parse(line)) });
    for (const owner of ['one', 'two']) {
      tasks.push(
        startPendingReplay({
          redis: redisFixture.redis,
          prefix,
          owner,
          store,
          runtime,
          clock: () => now + 1,
          log,
          cron: '* * * * * *',
          replayAfterMs: 0,
        }),
      );
    }
    await vi.waitFor(async () => expect(await store.unsettled('sl:T1:U1')).toEqual([]), { timeout: 5000 });
    await vi.waitFor(async () => expect(await store.unsettled('sl:T1:U2')).toEqual(['broken']));
    // Every sweep reports the unreadable entry, naming its key; two sweeps have run by then.
    const failures = () => errors.filter((e) => e.msg === 'replaying unconfirmed effects failed');
    await vi.waitFor(() => expect(failures().length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    expect(failures()[0]).toMatchObject({ eventId: 'broken', err: { message: expect.stringContaining(u2) } });
    expect(ports.wakes).toEqual([{ patientId: 'sl:T1:U2', at: now, timer: 'snooze_due' }]);
    // The replayed step's messages went out once, like those of the same step that never failed.
    const keys = ports.sent.map((s) => s.key);
    expect(keys.filter((k) => k === 'sl-2#0').length).toBeGreaterThan(0);
    expect(keys).toEqual([
      ...keys.filter((k) => k === 'sl-2#0'),
      ...keys.filter((k) => k === 'sl-2#0').map(() => 'sl-1#0'),
    ]);
  });
});
