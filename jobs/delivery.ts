import { type ConnectionOptions, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { OutboundMessage } from '../src/engine/events.ts';
import { globEscape } from '../src/runtime/redis-glob.ts';
import { type DeliveryJob, jobIdOf, jobIdsMatching, QUEUES, RETENTION } from './queues.ts';

export type DeliveryResult =
  /** `messageId`: the platform's id of the message, where it has one. */
  | { ok: true; messageId?: string }
  | { ok: false; retryAfterMs: number }
  | { ok: false; blocked: true }
  /** Refused for good (a 4xx other than 429 and blocked): not worth retrying. */
  | { ok: false; rejected: string };

/** Sends one message to one patient on their platform. Throws on errors worth retrying. */
export type Deliver = (patientId: string, message: OutboundMessage) => Promise<DeliveryResult>;

/**
 * How long the outbox refuses a second message with the same idempotency key. A key comes back when
 * an event's effects are replayed (a crash between queueing and confirming, then a redelivery),
 * which happens within minutes: a stalled job is retried after 30 s, Telegram redelivers an
 * unanswered webhook within minutes. An hour covers that at a few bytes per patient.
 */
export const OUTBOX_DEDUP_MS = 3600 * 1000;

/**
 * Every outbound message goes through here: one job per step, its id the idempotency key, led by the
 * recipient, so `/delete` can find and remove the recipient's jobs without a per-patient index.
 */
export class Outbox {
  constructor(
    private readonly queue: Queue<DeliveryJob>,
    /** The queue's Redis: the idempotency keys live beside its jobs. */
    private readonly redis: Redis,
  ) {}

  async enqueue(key: string, recipient: string, messages: OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const jobId = jobIdOf(recipient, key);
    // A job id refuses a second add only while the job is kept (an hour at most, fewer in a big
    // fan-out), and BullMQ's own de-duplication key goes with the job; so a key of ours remembers
    // the message for OUTBOX_DEDUP_MS. It is set after the add: a crash in between can repeat a
    // message, never lose one.
    const sent = this.queue.toKey(`sent:${jobId}`);
    if ((await this.redis.exists(sent)) === 1) return;
    await this.queue.add('deliver', { patientId: recipient, messages }, { jobId, ...DELIVERY_JOB_OPTIONS });
    await this.redis.set(sent, '1', 'PX', OUTBOX_DEDUP_MS);
  }

  /** Removes every job of the recipient but `keep` (the step that confirms the deletion). */
  async forget(recipient: string, keep?: string): Promise<number> {
    const kept = keep === undefined ? undefined : jobIdOf(recipient, keep);
    const mine = `${globEscape(`${jobIdOf(recipient)}|`)}*`;
    let removed = 0;
    // A job a worker holds right now cannot be removed; it finishes as the deleted patient's last.
    for (const id of await jobIdsMatching(this.queue, this.redis, mine)) {
      if (id !== kept) removed += await this.queue.remove(id);
    }
    const sent = (await jobIdsMatching(this.queue, this.redis, mine, 'sent:')).filter((id) => id !== kept);
    if (sent.length > 0) await this.redis.del(...sent.map((id) => this.queue.toKey(`sent:${id}`)));
    return removed;
  }
}

export const DELIVERY_JOB_OPTIONS = {
  ...RETENTION,
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
  /** Told of each message accepted and each delivery that must wait or gave up (for metrics). */
  observe?: {
    delivered(recipient: string): void;
    retried(reason: 'rate_limited' | 'error' | 'blocked' | 'rejected'): void;
  };
  /** A user who blocked the bot: the caller marks them unreachable, which stops their pushes. */
  onBlocked: (patientId: string, jobId: string) => Promise<void>;
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
      const { patientId, messages } = job.data;
      // A retried job resumes after the last message the platform accepted.
      const from = typeof job.progress === 'number' ? job.progress : 0;
      for (let i = from; i < messages.length; i++) {
        const result = await deliver(patientId, messages[i] as OutboundMessage);
        if (!result.ok) return refused(job.id, patientId, result);
        opts.observe?.delivered(patientId);
        if (i + 1 < messages.length) await job.updateProgress(i + 1);
      }
      // The limiter admitted one message; the rest of the step's messages take their slots here.
      const extra = messages.length - 1 - from;
      if (extra > 0) {
        const owed = Math.ceil((extra * 1000) / opts.ratePerSecond);
        if ((await queue.getRateLimitTtl()) < owed) await queue.rateLimit(owed);
      }
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
  async function refused(
    jobId: string | undefined,
    patientId: string,
    result: DeliveryResult,
  ): Promise<never> {
    opts.observe?.retried(
      'blocked' in result ? 'blocked' : 'rejected' in result ? 'rejected' : 'rate_limited',
    );
    if ('blocked' in result) {
      opts.log.warn({ patientId, jobId }, 'user blocked the bot');
      await opts.onBlocked(patientId, jobId ?? patientId);
      throw new UnrecoverableError('the user blocked the bot');
    }
    if ('rejected' in result)
      throw new UnrecoverableError(`the platform refused the message: ${result.rejected}`);
    const retryAfterMs = 'retryAfterMs' in result ? result.retryAfterMs : 1000;
    opts.log.info({ jobId, retryAfterMs }, 'platform asked to retry later');
    await queue.rateLimit(retryAfterMs);
    throw Worker.RateLimitError();
  }
  worker.on('failed', (job, error) => {
    // Refusals were counted where they were seen; this is an error the queue will retry.
    if (!(error instanceof UnrecoverableError) && error.name !== 'RateLimitError')
      opts.observe?.retried('error');
    opts.log.error({ jobId: job?.id, attempts: job?.attemptsMade, err: error }, 'delivery failed');
  });
  worker.on('closed', () => void queue.close());
  return worker;
}
