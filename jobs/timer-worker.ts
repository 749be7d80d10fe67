import { type ConnectionOptions, Worker } from 'bullmq';
import type { CoachRuntime } from '../src/runtime/coach-runtime.ts';
import { QUEUES, type TimerQueueJob, timersOf } from './queues.ts';

/**
 * Runs due timers through the engine, a batch of them as one store transaction. Each timer's event
 * id is the id its own job would have, and the store processes an event id once, so a timer run
 * twice (a retry, a second worker, a batch added again) changes the patient once. A timer that fails
 * fails the job, after the others of its batch have run.
 */
export function createTimerWorker(
  runtime: CoachRuntime,
  opts: {
    connection: ConnectionOptions;
    prefix: string;
    concurrency: number;
    lockDurationMs?: number;
    /** Told how late each timer ran, in seconds (for metrics). */
    observeLag?: (seconds: number) => void;
    clock?: () => number;
  },
): Worker<TimerQueueJob> {
  return new Worker<TimerQueueJob>(
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
      const failed = results.flatMap((result, i) =>
        result.status === 'rejected' ? [{ timer: timers[i], reason: result.reason as unknown }] : [],
      );
      const first = failed[0];
      if (first) {
        const why = first.reason instanceof Error ? first.reason.message : String(first.reason);
        throw new Error(
          `${failed.length} of ${timers.length} timers failed; the first, ${first.timer?.id}: ${why}`,
          { cause: first.reason },
        );
      }
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.lockDurationMs ?? 30_000,
    },
  );
}
