import { type ConnectionOptions, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { OutboundMessage } from '../src/engine/events.ts';
import { type DeliveryJob, jobIdOf, KEEP_FOR_DEDUP, QUEUES } from './queues.ts';

export type DeliveryResult =
  | { ok: true }
  | { ok: false; retryAfterMs: number }
  | { ok: false; blocked: true }
  /** Refused for good (a 4xx other than 429 and blocked): not worth retrying. */
  | { ok: false; rejected: string };

/** Sends one message to one patient on their platform. Throws on errors worth retrying. */
export type Deliver = (patientId: string, message: OutboundMessage) => Promise<DeliveryResult>;

/** Every outbound message goes through here: one job per message, its id the idempotency key. */
export class Outbox {
  constructor(private readonly queue: Queue<DeliveryJob>) {}

  async enqueue(key: string, patientId: string, message: OutboundMessage): Promise<void> {
    await this.queue.add('deliver', { patientId, message }, { jobId: jobIdOf(key), ...DELIVERY_JOB_OPTIONS });
  }
}

export const DELIVERY_JOB_OPTIONS = {
  ...KEEP_FOR_DEDUP,
  attempts: 10,
  backoff: { type: 'exponential' as const, delay: 1000 },
};

/**
 * The limiter as an even pace rather than a burst of `rate` at the start of every second: a platform
 * counting over a sliding second (as Telegram does) would see two bursts either side of a window edge
 * as twice the rate. Low rates get one message per slot; from 100/s on, a tenth of the rate per 100 ms,
 * because BullMQ's limiter spends a Redis round trip per window and one-per-millisecond slots would
 * cap a 1000/s setting near 400/s.
 */
export function pacing(ratePerSecond: number): { max: number; duration: number } {
  if (ratePerSecond >= 100) return { max: Math.floor(ratePerSecond / 10), duration: 100 };
  return { max: 1, duration: Math.ceil(1000 / ratePerSecond) };
}

export interface DeliveryWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** The platform's overall limit (Telegram: 30 messages per second). */
  ratePerSecond: number;
  concurrency: number;
  /** How long a job stays locked by a worker that stopped answering (a killed process). */
  lockDurationMs?: number;
  log: Logger;
  /** A user who blocked the bot: stop their pushes (the caller marks them unreachable). */
  onBlocked: (patientId: string) => Promise<void>;
}

/**
 * The delivery worker: sends at most `ratePerSecond` messages a second across all workers sharing
 * the queue (BullMQ's limiter lives in Redis), waits out a platform's retry-after for the whole
 * queue, retries other failures with exponential backoff, and gives up on a blocked user at once.
 */
export function createDeliveryWorker(deliver: Deliver, opts: DeliveryWorkerOptions): Worker<DeliveryJob> {
  const queue = new Queue<DeliveryJob>(QUEUES.outbox, { connection: opts.connection, prefix: opts.prefix });
  const worker = new Worker<DeliveryJob>(
    QUEUES.outbox,
    async (job) => {
      const result = await deliver(job.data.patientId, job.data.message);
      if (result.ok) return;
      if ('blocked' in result) {
        opts.log.warn({ patientId: job.data.patientId, jobId: job.id }, 'user blocked the bot');
        await opts.onBlocked(job.data.patientId);
        throw new UnrecoverableError('the user blocked the bot');
      }
      if ('rejected' in result)
        throw new UnrecoverableError(`the platform refused the message: ${result.rejected}`);
      opts.log.info({ jobId: job.id, retryAfterMs: result.retryAfterMs }, 'platform asked to retry later');
      await queue.rateLimit(result.retryAfterMs);
      throw Worker.RateLimitError();
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      limiter: pacing(opts.ratePerSecond),
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.lockDurationMs ?? 30_000,
    },
  );
  worker.on('failed', (job, error) => {
    opts.log.error({ jobId: job?.id, attempts: job?.attemptsMade, err: error }, 'delivery failed');
  });
  worker.on('closed', () => void queue.close());
  return worker;
}
