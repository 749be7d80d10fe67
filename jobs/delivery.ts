import { performance } from 'node:perf_hooks';
import { type ConnectionOptions, DelayedError, type Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { OutboundMessage } from '../src/engine/events.ts';
import { groupedWrites } from '../src/runtime/grouped-calls.ts';
import { globEscape } from '../src/runtime/redis-glob.ts';
import { ChatLines, LINE_LOOK_MS } from './chat-lines.ts';
import { type DeliveryJob, jobIdOf, jobIdsMatching, QUEUES, RETENTION } from './queues.ts';
import type { Pace } from './send-pacer.ts';

export type DeliveryResult =
  /**
   * `messageId`: the platform's id of the message, where it has one. `recorded`: what the platform's
   * adapter writes about the message once it is sent (which message carries a question's buttons),
   * begun and not awaited (`recording`), so the message's turn among those in flight ends with its
   * send; whoever took the turn awaits it afterwards (`afterTurn`).
   */
  | { ok: true; messageId?: string; recorded?: Promise<void> }
  | { ok: false; retryAfterMs: number }
  | { ok: false; blocked: true }
  /** Refused for good (a 4xx other than 429 and blocked): not worth retrying. */
  | { ok: false; rejected: string };

/**
 * When a message's request was due to leave, for the sender that makes it. A request that leaves
 * after `lateAfter` (ms on `performance.now()` of the thread that paced it) tells `leftLate` as it
 * leaves, and its pace makes room for it in the second that follows.
 */
export interface Departure {
  lateAfter: number;
  leftLate(leftAt: number): void;
}

/**
 * Tells a departure whose time is past that its request leaves now. A sender calls it once, as the
 * request goes.
 */
export function tellIfLate(departure: Departure | undefined): void {
  if (!departure) return;
  const now = performance.now();
  if (now > departure.lateAfter) departure.leftLate(now);
}

/**
 * Sends one message to one patient on their platform, its request leaving at `departure` when it
 * was paced. Throws on errors worth retrying.
 */
export type Deliver = (
  patientId: string,
  message: OutboundMessage,
  departure?: Departure,
) => Promise<DeliveryResult>;

/** Writes begun for a sent message, to be awaited later: until then a failure is not unhandled. */
export function recording(writes: Promise<void>): Promise<void> {
  writes.catch(() => undefined);
  return writes;
}

/**
 * Waits for what was recorded about a sent message. A failure is reported and the message stands:
 * it reached the patient, and trying it again would repeat it; what is lost is closing its buttons
 * once the question is answered.
 */
async function afterTurn(result: DeliveryResult, log: Logger, recipient: string, jobId?: string) {
  if (!result.ok || !result.recorded) return;
  await result.recorded.catch((error: unknown) =>
    log.error(
      { err: error, recipient, jobId },
      'message sent, but which message carries its question was not recorded: its buttons stay',
    ),
  );
}

/**
 * A chat's mark that failed: the message stands (failing it would send it again), and a delivery
 * right behind it may meet the chat's 429, which is waited out as any other.
 */
const chatUnmarked = (log: Logger, recipient: string) => (error: unknown) => {
  log.warn({ err: error, recipient }, 'message sent, but not its chat’s gap: the next may come too soon');
};

/**
 * How long the outbox refuses a second message with the same idempotency key. A key comes back when
 * an event's effects are replayed (a crash between queueing and confirming, then a redelivery),
 * which happens within minutes: a stalled job is retried after 30 s, Telegram redelivers an
 * unanswered webhook within minutes. An hour covers that at a few bytes per patient.
 */
export const OUTBOX_DEDUP_MS = 3600 * 1000;

// Sets each key given for as many ms as the ARGV of its place.
const MARK = `
for i = 1, #KEYS do redis.call('SET', KEYS[i], '1', 'PX', ARGV[i]) end
`;

type MarkingRedis = Redis & { backcoachMark(...args: (string | number)[]): Promise<void> };

/** A key set for `ms`: a message's idempotency key, or a chat's last request (`ChatSpacing`). */
interface Mark {
  key: string;
  ms: number;
}

/**
 * A chat's wait between two requests, those of one delivery and from one delivery to the next.
 * Telegram takes about one message a second in a chat, and a reply right after a push, each a
 * delivery of its own, would otherwise go back to back: the chat's 429 stops every sender of the
 * platform for its retry-after.
 */
export interface ChatSpacing {
  /** How long the chat wants between two requests (0: back to back). */
  gapMs(recipient: string): number;
  /** How long the chat still wants after the last request sent to it (ms; 0 at once without a gap). */
  freeIn(recipient: string): Promise<number>;
  /** A request was just sent to the chat: the next one waits the gap (nothing is kept without one). */
  sent(recipient: string): Promise<void>;
}

/** How a recipient's chat takes the messages of one delivery. */
export interface ChatRules {
  /**
   * A message as the recipient's platform sends it, one request each (a picture apart from a text
   * too long to go with it): each takes its own slot, and a retry resumes after the last one taken.
   */
  requests(recipient: string, message: OutboundMessage): OutboundMessage[];
  /**
   * How long the chat wants between two requests (0: back to back): within a delivery the next one
   * waits as a delayed job, holding no turn among the messages in flight; a queued delivery waits
   * the rest of it after the last request of another (`ChatSpacing`).
   */
  gapMs(recipient: string): number;
}

/** Each message one request, back to back. */
export const ANY_CHAT: ChatRules = { requests: (_, message) => [message], gapMs: () => 0 };

/**
 * Every outbound message goes through here: one job per step, its id the idempotency key, led by the
 * recipient, so `/delete` can find and remove the recipient's jobs without a per-patient index.
 */
export class Outbox {
  /**
   * Sets a message's idempotency key (`sentKey`) for OUTBOX_DEDUP_MS, sent at once or queued, and a
   * chat's last request for its gap: a fan-out's marks go many to a command (`groupedWrites`).
   */
  private readonly mark: (mark: Mark) => Promise<void>;
  /** Each chat's spacing, kept here and by the delivery worker. */
  readonly spacing: ChatSpacing;
  /** Each chat's queued deliveries in order, joined here and kept by the delivery worker. */
  readonly lines: ChatLines;

  constructor(
    private readonly queue: Queue<DeliveryJob>,
    /** The queue's Redis: the idempotency keys live beside its jobs. */
    private readonly redis: Redis,
    /** Where given, `sendNow` tries the platform before the queue. */
    private readonly direct?: DirectSending,
    private readonly chats: ChatRules = ANY_CHAT,
  ) {
    const marking = direct?.redis ?? redis;
    if (!('backcoachMark' in marking)) marking.defineCommand('backcoachMark', { lua: MARK });
    this.mark = groupedWrites((marks) =>
      (marking as MarkingRedis).backcoachMark(
        marks.length,
        ...marks.map((mark) => mark.key),
        ...marks.map((mark) => mark.ms),
      ),
    );
    this.spacing = {
      gapMs: (recipient) => chats.gapMs(recipient),
      freeIn: async (recipient) =>
        chats.gapMs(recipient) > 0 ? Math.max(0, await marking.pttl(this.chatKey(recipient))) : 0,
      sent: (recipient) => this.chatSent(recipient, chats.gapMs(recipient)),
    };
    this.lines = new ChatLines(marking, queue);
  }

  private sentKey(jobId: string): string {
    return this.queue.toKey(`sent:${jobId}`);
  }

  private chatKey(recipient: string): string {
    return this.queue.toKey(`chat:${recipient}`);
  }

  private async chatSent(recipient: string, gapMs: number): Promise<void> {
    if (gapMs > 0) await this.mark({ key: this.chatKey(recipient), ms: gapMs });
  }

  private split(recipient: string, messages: OutboundMessage[]): OutboundMessage[] {
    return messages.flatMap((message) => this.chats.requests(recipient, message));
  }

  /**
   * The queue's fast path: the messages go straight to the platform at the shared pace, and only
   * what the platform did not take (a 429, an error, a block) becomes a job, which the worker retries
   * as it would any other. The idempotency key is the job's, so a message sent here is not queued
   * again, nor queued here when it was sent before. A crash between the send and marking it sent
   * repeats the message on replay: at most `DirectSending.limit`'s concurrency of them.
   */
  async sendNow(
    key: string,
    recipient: string,
    messages: OutboundMessage[],
    opts: Sending = {},
  ): Promise<void> {
    const direct = this.direct;
    if (!direct || messages.length === 0) return this.enqueue(key, recipient, messages, opts);
    messages = this.split(recipient, messages);
    const jobId = jobIdOf(recipient, key);
    const sentKey = this.sentKey(jobId);
    const [sentBefore, behind] = await Promise.all([
      !opts.fresh && direct.redis.exists(sentKey).then((found) => found === 1),
      this.lines.waiting(recipient),
    ]);
    if (sentBefore) return;
    // Sent now, it would overtake what the chat has queued (a reply whose send failed): it queues.
    if (behind) return this.queueDelivery(jobId, recipient, messages, sentKey);
    const gapMs = this.chats.gapMs(recipient);
    const sent: DeliveryResult[] = [];
    const accepted = await direct.limit(async () => {
      for (const [i, message] of messages.entries()) {
        if (i > 0 && gapMs > 0) return i;
        const result = await direct.deliver(recipient, message).catch((error: unknown) => {
          direct.log.warn({ err: error, recipient, jobId }, 'direct send failed; queued');
          return undefined;
        });
        if (!result?.ok) return i;
        sent.push(result);
        direct.delivered?.(recipient);
      }
      return messages.length;
    });
    // The mark goes out without waiting for these: between a send and its mark, a crash repeats it.
    const recorded = Promise.all(sent.map((result) => afterTurn(result, direct.log, recipient, jobId)));
    const chatMarked =
      sent.length > 0
        ? this.chatSent(recipient, gapMs).catch(chatUnmarked(direct.log, recipient))
        : undefined;
    if (accepted < messages.length) {
      const rest = messages.slice(accepted);
      // What the platform refused is retried at once; what waits for the chat's gap, after it,
      // queued once the chat's mark is in: when the rest is due, the mark has run out too.
      const delayMs = accepted > 0 && gapMs > 0 ? gapMs : 0;
      if (delayMs > 0) await chatMarked;
      await this.addDelivery(jobId, recipient, rest, delayMs);
    }
    // Both marks go in the groups of the pushes' marks: a fan-out adds no command for the chats'.
    await Promise.all([this.mark({ key: sentKey, ms: OUTBOX_DEDUP_MS }), chatMarked]);
    await recorded;
  }

  async enqueue(
    key: string,
    recipient: string,
    messages: OutboundMessage[],
    opts: Sending = {},
  ): Promise<void> {
    if (messages.length === 0) return;
    const jobId = jobIdOf(recipient, key);
    // A job id refuses a second add only while the job is kept (an hour at most, fewer in a big
    // fan-out), and BullMQ's own de-duplication key goes with the job; so a key of ours remembers
    // the message for OUTBOX_DEDUP_MS. It is set after the add: a crash in between can repeat a
    // message, never lose one.
    const sentKey = this.sentKey(jobId);
    if (!opts.fresh && (await this.redis.exists(sentKey)) === 1) return;
    await this.queueDelivery(jobId, recipient, this.split(recipient, messages), sentKey);
  }

  private async queueDelivery(
    jobId: string,
    recipient: string,
    requests: OutboundMessage[],
    sentKey: string,
  ): Promise<void> {
    await this.addDelivery(jobId, recipient, requests, 0);
    await this.mark({ key: sentKey, ms: OUTBOX_DEDUP_MS });
  }

  /** A job for the requests, last in its chat's line (`ChatLines`). */
  private async addDelivery(
    jobId: string,
    recipient: string,
    requests: OutboundMessage[],
    delayMs: number,
  ): Promise<void> {
    await this.lines.join(recipient, jobId);
    await this.queue.add(
      'deliver',
      { patientId: recipient, messages: requests },
      { jobId, ...DELIVERY_JOB_OPTIONS, ...(delayMs > 0 ? { delay: delayMs } : {}) },
    );
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
    if (sent.length > 0) await this.redis.del(...sent.map((id) => this.sentKey(id)));
    // The kept job, if queued, is not in a line any more and goes when it runs.
    await this.lines.forget(recipient);
    return removed;
  }
}

/** A message the platform kept answering 429; counted where the 429s were seen. */
class RateLimitedError extends Error {
  override name = 'RateLimitedError';
}

/**
 * `fresh`: the key was never used (the first performance of a step just committed), so the check
 * for it, a round trip for every message, is skipped.
 */
export interface Sending {
  fresh?: boolean;
}

/** What `Outbox.sendNow` needs to send without the queue. */
export interface DirectSending {
  /** Sends at the pace the delivery worker keeps (`pacedDeliver`), without waiting out a 429. */
  deliver: Deliver;
  /** Direct sends' turns among the process's messages in flight (`inFlightLimit(n).direct`). */
  limit: Limit;
  /** The outbox's Redis for the idempotency keys, auto-pipelined (many pushes check theirs at once). */
  redis: Redis;
  log: Logger;
  delivered?(recipient: string): void;
}

export const DELIVERY_JOB_OPTIONS = {
  ...RETENTION,
  attempts: 10,
  backoff: { type: 'exponential' as const, delay: 1000 },
};

export interface DeliveryWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** Each recipient's pace (Telegram's overall one, a Slack channel's), shared with direct sends. */
  pacing: Pacing;
  concurrency: number;
  /**
   * Queued messages' turns among the process's messages in flight (`inFlightLimit(n).queued`), shared
   * with its direct sends, so both paths together send no more than n: what a killed worker can
   * repeat. A message takes its turn before its slot, so a slot is not held while it waits.
   */
  limit?: Limit;
  /**
   * Readies a message for the platform (draws its chart) after its turn and before its slot: once,
   * however often the platform asks it to wait.
   */
  prepare?: (message: OutboundMessage) => Promise<OutboundMessage>;
  /**
   * The wait between two requests to the recipient's chat (`Outbox.spacing`): a job's next message
   * waits the gap, and a job waits out what is left of it after another delivery's last request.
   */
  chats?: ChatSpacing;
  /**
   * Each chat's queued deliveries in order (`Outbox.lines`): a job goes when it is first, and leaves
   * when it ends. Required: every outbox puts its deliveries in lines, and lines nobody leaves would
   * hold each chat's later messages back, and send its pushes through the queue, for a day.
   */
  lines: ChatLines;
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
 * How many 429s in a row a message waits out inside its job before the job fails and takes its
 * backoff: a platform that keeps refusing is better retried later than held on to.
 */
const INLINE_RATE_LIMITS = 5;

/** Runs a task when there is room for one more message in flight. */
export type Limit = <T>(task: () => Promise<T>) => Promise<T>;

/**
 * One limit on a process's messages in flight, for both of its paths. The delivery worker's go first
 * (replies, alerts, retries: someone may be waiting for them), before the pushes of a fan-out still
 * waiting for their turn, which are many and which nobody is waiting for.
 */
export function inFlightLimit(concurrency: number): { queued: Limit; direct: Limit } {
  const queue = new PQueue({ concurrency });
  return {
    queued: (task) => queue.add(task, { priority: 1 }),
    direct: (task) => queue.add(task, { priority: 0 }),
  };
}

/** The pace a recipient's messages keep: the platform's, or their channel's on it. */
export type Pacing = (recipient: string) => Pace;

/**
 * `deliver` at the recipient's pace: each message waits for its slot, and a 429 moves the next slot
 * of every sender of that pace past the platform's retry-after before the message tries again, up
 * to `retries` times.
 */
export function pacedDeliver(
  deliver: Deliver,
  pacing: Pacing,
  opts: { retries: number; log: Logger; observe?: DeliveryWorkerOptions['observe'] },
): Deliver {
  return async (patientId, message) => {
    const pace = pacing(patientId);
    for (let limited = 0; ; limited++) {
      const slot = await pace.slot();
      const result = await deliver(patientId, message, {
        lateAfter: slot.lateAfter,
        leftLate: (leftAt) => {
          pace.leftLate(slot, leftAt).catch((error: unknown) => {
            // The message went; what is lost is the room after it, so the platform may answer 429.
            opts.log.warn({ err: error, patientId }, 'a request left late and its pace could not make room');
          });
        },
      });
      if (result.ok || !('retryAfterMs' in result)) return result;
      opts.observe?.retried('rate_limited');
      opts.log.info({ patientId, retryAfterMs: result.retryAfterMs }, 'platform asked to retry later');
      await pace.pause(result.retryAfterMs);
      if (limited >= opts.retries) return result;
    }
  };
}

/**
 * The delivery worker: sends at the paces every process shares through Redis (`SendPacer`), waits
 * out a platform's retry-after for every sender of the pace it concerns, retries other failures with
 * exponential backoff, and gives up on a blocked user at once.
 */
export function createDeliveryWorker(deliver: Deliver, opts: DeliveryWorkerOptions): Worker<DeliveryJob> {
  const pacedAlone = pacedDeliver(deliver, opts.pacing, { ...opts, retries: INLINE_RATE_LIMITS });
  const prepare = opts.prepare;
  const prepared: Deliver = prepare
    ? async (patientId, message) => pacedAlone(patientId, await prepare(message))
    : pacedAlone;
  const limit = opts.limit;
  const lines = opts.lines;
  const paced: Deliver = limit ? (patientId, message) => limit(() => prepared(patientId, message)) : prepared;
  const worker = new Worker<DeliveryJob>(
    QUEUES.outbox,
    async (job, token) => {
      const { patientId, messages } = job.data;
      const jobId = job.id ?? '';
      // Another delivery to the chat was queued before this one: it goes first, and this one waits
      // in the delayed set, holding no turn and spending no attempt, until that one ends and wakes it.
      if (!(await lines.first(patientId, jobId))) {
        await job.moveToDelayed(Date.now() + LINE_LOOK_MS, token);
        // The one before may have left between the look and the move, waking nothing: look again.
        // A wake-up that came first makes this promote fail; either way the job is on its way.
        if (await lines.first(patientId, jobId)) await job.promote().catch(() => undefined);
        throw new DelayedError();
      }
      // A retried job resumes after the last message the platform accepted.
      const from = typeof job.progress === 'number' ? job.progress : 0;
      const chats = opts.chats;
      const gapMs = chats?.gapMs(patientId) ?? 0;
      // A message to the chat went out less than its gap ago (a push, then this reply): the job
      // waits out the rest in the delayed set, holding no turn and spending no attempt.
      const wait = chats ? await chats.freeIn(patientId) : 0;
      if (wait > 0) {
        await job.moveToDelayed(Date.now() + wait, token);
        throw new DelayedError();
      }
      for (let i = from; i < messages.length; i++) {
        const result = await paced(patientId, messages[i] as OutboundMessage);
        if (!result.ok) return refused(job.id, patientId, result);
        opts.observe?.delivered(patientId);
        await Promise.all([
          afterTurn(result, opts.log, patientId, job.id),
          chats?.sent(patientId).catch(chatUnmarked(opts.log, patientId)),
        ]);
        if (i + 1 === messages.length) return;
        await job.updateProgress(i + 1);
        if (gapMs > 0) {
          // The rest waits out the chat's gap in the delayed set, its turn and its slot free.
          await job.moveToDelayed(Date.now() + gapMs, token);
          throw new DelayedError();
        }
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
  /**
   * The job has ended: the next delivery to the chat may go. After the job is finished, not before:
   * a round trip between the last send and the job's end would widen what a killed worker repeats,
   * and a failure here would fail a job whose messages were sent. A crash before it is mended by the
   * next job to look, which finds this one finished and drops it from the line.
   */
  async function leaveLine(patientId: string, jobId: string): Promise<void> {
    await lines.leave(patientId, jobId).catch((error: unknown) => {
      opts.log.warn({ err: error, patientId, jobId }, 'delivery ended, but left its chat’s line late');
    });
  }
  async function refused(
    jobId: string | undefined,
    patientId: string,
    result: DeliveryResult,
  ): Promise<never> {
    if ('blocked' in result) {
      opts.observe?.retried('blocked');
      opts.log.warn({ patientId, jobId }, 'user blocked the bot');
      await opts.onBlocked(patientId, jobId ?? patientId);
      throw new UnrecoverableError('the user blocked the bot');
    }
    if ('rejected' in result) {
      opts.observe?.retried('rejected');
      throw new UnrecoverableError(`the platform refused the message: ${result.rejected}`);
    }
    // Still rate-limited after waiting it out several times: the job's backoff takes over.
    throw new RateLimitedError(`still rate-limited after ${INLINE_RATE_LIMITS + 1} tries`);
  }
  worker.on('completed', (job) => {
    if (job.id !== undefined) void leaveLine(job.data.patientId, job.id);
  });
  worker.on('failed', (job, error) => {
    // Refusals were counted where they were seen; this is an error the queue will retry.
    if (!(error instanceof UnrecoverableError) && !(error instanceof RateLimitedError))
      opts.observe?.retried('error');
    opts.log.error({ jobId: job?.id, attempts: job?.attemptsMade, err: error }, 'delivery failed');
    // Failed for good: the chat's next delivery goes. One still retrying keeps its place first.
    const final =
      error instanceof UnrecoverableError || (job?.attemptsMade ?? 0) >= (job?.opts.attempts ?? 1);
    if (job?.id !== undefined && final) void leaveLine(job.data.patientId, job.id);
  });
  return worker;
}
