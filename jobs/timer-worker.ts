import { type ConnectionOptions, Worker } from 'bullmq';
import type { CoachRuntime } from '../src/runtime/coach-runtime.ts';
import { QUEUES, type TimerJob } from './queues.ts';

/**
 * Runs due timers through the engine. The job id is the event id, and the store processes an event
 * id once, so a timer job run twice (a retry, a second worker) changes the patient once.
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
): Worker<TimerJob> {
  return new Worker<TimerJob>(
    QUEUES.timers,
    async (job) => {
      const { patientId, timer, date, at } = job.data;
      opts.observeLag?.(Math.max(0, ((opts.clock ?? Date.now)() - at) / 1000));
      await runtime.handle({
        id: `timer|${job.id}`,
        patientId,
        kind: 'timer',
        timer,
        ...(date ? { date } : {}),
      });
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
