import type { Redis } from 'ioredis';
import { type RunCoordinator, type ScheduledTask, schedule } from 'node-cron';
import type { Logger } from 'pino';
import type { ScheduleStore } from './schedule-store.ts';

/**
 * node-cron's distributed mode asks a coordinator before each run; this one takes a Redis lock with
 * the lease as expiry, so among many processes one runs the task and a crashed holder frees it.
 */
export function redisRunCoordinator(redis: Redis, prefix: string, owner: string): RunCoordinator {
  return {
    shouldRun: async (key, ttlMs) =>
      (await redis.set(`${prefix}lock:${key}`, owner, 'PX', ttlMs, 'NX')) === 'OK',
  };
}

/** The sweep that re-creates missing schedule entries for every patient with a schedule. */
export function startScheduleRepair(opts: {
  redis: Redis;
  prefix: string;
  owner: string;
  store: ScheduleStore;
  clock: () => number;
  log: Logger;
  cron?: string;
}): ScheduledTask {
  return schedule(
    opts.cron ?? '*/5 * * * *',
    async () => {
      const repaired = await opts.store.repair(opts.clock());
      if (repaired > 0) opts.log.warn({ repaired }, 'repaired missing schedule entries');
    },
    {
      name: 'repair-schedules',
      noOverlap: true,
      distributed: true,
      distributedLease: 4 * 60_000,
      runCoordinator: redisRunCoordinator(opts.redis, opts.prefix, opts.owner),
    },
  );
}
