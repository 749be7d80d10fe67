import type { ScheduledTask } from 'node-cron';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { redisRunCoordinator, startScheduleRepair } from '../../jobs/maintenance.ts';
import { dueMember, ScheduleStore } from '../../jobs/schedule-store.ts';
import { useRedis } from '../support/redis.ts';

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
});
