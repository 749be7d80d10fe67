import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { OutboundMessage, Timer } from '../src/engine/events.ts';
import { globEscape } from '../src/runtime/redis-glob.ts';

/** Queue names; one prefix per deployment keeps several on one Redis apart. */
export const QUEUES = { timers: 'timers', outbox: 'outbox' } as const;

export interface TimerJob {
  patientId: string;
  timer: Timer;
  /** The patient's local date the timer belongs to (recurring timers only). */
  date?: string;
  /** The instant it was scheduled for. */
  at: number;
}

/**
 * Due timers handled together, one store transaction for all (a fan-out at the same minute). `id`
 * is the job id each would have had on its own: the event id, as for a job of a single timer.
 */
export interface TimerBatch {
  timers: (TimerJob & { id: string })[];
}

/** What the timers queue holds: a timer on its own, or timers due together. */
export type TimerQueueJob = TimerJob | TimerBatch;

/** The timers of a job, each with its event id (a timer on its own: the job's id). */
export function timersOf(data: TimerQueueJob, jobId: string | undefined): (TimerJob & { id: string })[] {
  return 'timers' in data
    ? data.timers
    : [{ ...data, id: jobId ?? jobIdOf(data.timer, data.patientId, data.date ?? data.at) }];
}

/** The messages of one engine step, in order: one job, so they cannot overtake one another. */
export interface DeliveryJob {
  patientId: string;
  messages: OutboundMessage[];
}

/**
 * A BullMQ job id from parts. Ids are the idempotency keys: the same timer for the same local date,
 * or the same message of the same step, is one job however often it is added. BullMQ refuses ':'
 * in custom ids, and patient ids carry one, so parts are URI-encoded.
 */
export function jobIdOf(...parts: (string | number)[]): string {
  return parts.map((p) => encodeURIComponent(String(p))).join('|');
}

/**
 * Finished jobs are kept an hour (at most 10,000 of them, whatever the number of patients) for the
 * dashboard; failed ones a week, for an operator. Nothing relies on a finished job being kept: a
 * timer run twice is one step (the store remembers event ids for two days, the engine pushes once a
 * local date), and the outbox keeps a de-duplication key per message (`OUTBOX_DEDUP_MS`). Keeping
 * jobs for days would cost a few kilobytes per patient, texts and all.
 */
export const RETENTION: JobsOptions = {
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** How often, and after how long, a job that failed is tried again (BullMQ's job options). */
export interface Retries {
  attempts: number;
  backoff: { type: 'exponential'; delay: number };
}

/**
 * A timer job that failed (Redis did not answer, a step's effects failed after its commit) is tried
 * again: a push late on its day is better than none, and a late try is harmless. The engine sends
 * no drills once the patient's day is over or their quiet hours have begun, and an event already
 * stepped only performs its unconfirmed effects again, under the same idempotency keys. Six tries
 * over about two and a half minutes (5, 10, 20, 40 and 80 s apart) outlast a Redis restart or
 * failover.
 */
export const TIMER_RETRIES: Retries = { attempts: 6, backoff: { type: 'exponential', delay: 5_000 } };

/** The job of a timer on its own: named after the timer, its id the event id. */
export function timerJob({ id, ...timer }: TimerJob & { id: string }, retries: Retries = TIMER_RETRIES) {
  return { name: timer.timer, data: timer, opts: { jobId: id, ...RETENTION, ...retries } };
}

/**
 * The ids of a queue's jobs (or, with `under`, of its keys of that kind) whose id matches `glob`.
 * Ids hold no ':' (they are URI-encoded), so a longer match is a job's sub-key (its lock, its logs).
 * SCAN walks the whole database: this is for rare work such as `/delete`, not for every message.
 */
export async function jobIdsMatching(
  queue: Queue,
  redis: Redis,
  glob: string,
  under = '',
): Promise<string[]> {
  const base = queue.toKey(under);
  const ids: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${globEscape(base)}${glob}`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const id = key.slice(base.length);
      if (!id.includes(':')) ids.push(id);
    }
  } while (cursor !== '0');
  return ids;
}

/** A literal for a SCAN pattern. */
