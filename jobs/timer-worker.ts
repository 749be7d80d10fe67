import { type ConnectionOptions, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { type CoachRuntime, InvalidEventError } from '../src/runtime/coach-runtime.ts';
import { CorruptRecordError } from '../src/runtime/store.ts';
import { QUEUES, type Retries, TIMER_RETRIES, type TimerQueueJob, timerJob, timersOf } from './queues.ts';

/**
 * A record that does not read, or an event that is not valid, fails the same way however often it
 * is tried: the job fails at once, for an operator to see, rather than after every retry.
 */
function lasting(error: unknown): unknown {
  return error instanceof CorruptRecordError || error instanceof InvalidEventError
    ? new UnrecoverableError(error.message)
    : error;
}

/**
 * Runs due timers through the engine, a batch of them as one store transaction. Each timer's event
 * id is the id its own job would have, and the store processes an event id once, so a timer run
 * twice (a retry, a second worker, a batch added again) changes the patient once.
 */
export function createTimerWorker(
  runtime: CoachRuntime,
  opts: {
    connection: ConnectionOptions;
    prefix: string;
    concurrency: number;
    lockDurationMs?: number;
    /** How a timer that failed in a batch, and goes on as a job of its own, is tried again. */
    retries?: Retries;
    /** Told how late each timer ran, in seconds (for metrics). */
    observeLag?: (seconds: number) => void;
    clock?: () => number;
    log: Logger;
  },
): Worker<TimerQueueJob> {
  const queue = new Queue<TimerQueueJob>(QUEUES.timers, { connection: opts.connection, prefix: opts.prefix });
  const worker = new Worker<TimerQueueJob>(
    QUEUES.timers,
    async (job) => {
      const timers = timersOf(job.data, job.id);
      const now = (opts.clock ?? Date.now)();
      for (const { at } of timers) opts.observeLag?.(Math.max(0, (now - at) / 1000));
      const events = timers.map(({ id, patientId, timer, date }) => ({
        id: `timer|${id}`,
        patientId,
        kind: 'timer',
        timer,
        ...(date ? { date } : {}),
      }));
      const results = await runtime.handleMany(events);
      const failed = timers.filter((_, i) => results[i]?.status === 'rejected');
      if (failed.length === 0) return;
      if (!('timers' in job.data)) throw lasting((results[0] as PromiseRejectedResult).reason);
      // A batch's failures go on as jobs of their own, with their own ids: they are retried alone,
      // an operator sees which patient failed, and `/delete` finds them; the batch itself is done.
      const first = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      opts.log.warn(
        { jobId: job.id, failed: failed.map((t) => t.id), err: first.reason },
        'timers of a batch failed; queued alone',
      );
      await queue.addBulk(failed.map((timer) => timerJob(timer, opts.retries ?? TIMER_RETRIES)));
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.lockDurationMs ?? 30_000,
    },
  );
  worker.on('closed', () => {
    queue.close().catch((error: unknown) => opts.log.warn({ err: error }, 'closing the timers queue failed'));
  });
  return worker;
}
