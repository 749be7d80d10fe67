import type { Redis } from 'ioredis';
import { type RunCoordinator, type ScheduledTask, schedule } from 'node-cron';
import type { Logger } from 'pino';
import type { CoachRuntime } from '../src/runtime/coach-runtime.ts';
import type { PatientStore } from '../src/runtime/store.ts';
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

/** How long a committed step's effects may stay unconfirmed before the sweep performs them. */
export const REPLAY_AFTER_MS = 2 * 60_000;

/**
 * The sweep that performs effects committed but never confirmed: the process died between the
 * commit and the outbox, or an effect failed, for an event the platform will not deliver again.
 * Without it such a reply waited for a redelivery that, for Slack or polling, never comes.
 */
export function startPendingReplay(opts: {
  redis: Redis;
  prefix: string;
  owner: string;
  store: PatientStore;
  runtime: CoachRuntime;
  clock: () => number;
  log: Logger;
  cron?: string;
  replayAfterMs?: number;
}): ScheduledTask {
  return schedule(
    opts.cron ?? '*/2 * * * *',
    async () => {
      let replayed = 0;
      let failed = 0;
      const before = opts.clock() - (opts.replayAfterMs ?? REPLAY_AFTER_MS);
      for await (const { patientId, eventId } of opts.store.unsettledBefore(before)) {
        try {
          if (await opts.runtime.replay(patientId, eventId)) replayed++;
        } catch (error) {
          failed++;
          opts.log.error({ err: error, patientId, eventId }, 'replaying unconfirmed effects failed');
        }
      }
      if (replayed + failed > 0) opts.log.warn({ replayed, failed }, 'replayed unconfirmed effects');
    },
    {
      name: 'replay-pending',
      noOverlap: true,
      distributed: true,
      distributedLease: 60_000,
      runCoordinator: redisRunCoordinator(opts.redis, opts.prefix, opts.owner),
    },
  );
}
