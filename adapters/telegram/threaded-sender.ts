import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { DeliveryResult, Departure } from '../../jobs/delivery.ts';
import type { OutboundMessage } from '../../src/engine/events.ts';
import {
  createTelegramSender,
  DEFAULT_TIMEOUT_SECONDS,
  type TelegramSender,
  type TelegramSenderOptions,
} from './sender.ts';

/**
 * A call for the thread. A send's `lateAfter` is its departure's on the clock both threads read
 * alike, `performance.timeOrigin + performance.now()`.
 */
type Call = { chatId: string } & (
  | { op: 'send'; message: OutboundMessage; lateAfter?: number }
  | { op: 'close'; messageId: number; text?: string }
);

/** One request to the send thread. */
export type SendRequest = Call & { id: number };

/** An error thrown on the send thread, as it comes back. */
export interface ThreadError {
  name: string;
  message: string;
  /** What the error wraps, as text (grammY's `HttpError.error`: a timeout, a refused connection). */
  error?: string;
  /** Where it was thrown, on the thread. */
  stack?: string;
}

/** A call's outcome, or `leftAt` (on the shared clock): its request left late, the call still on its way. */
export type SendAnswer = { id: number } & (
  | { result: DeliveryResult }
  | { error: ThreadError }
  | { leftAt: number }
);

/**
 * A send that failed on the thread. Its class stays there; `name` is the thrown error's (`HttpError`,
 * `GrammyError` …) and `error` what that wrapped, both own properties, so a log shows them; `stack`
 * is where the thread threw it.
 */
export class SendThreadError extends Error {
  readonly error: string | undefined;

  constructor(thrown: ThreadError) {
    super(thrown.message);
    this.name = thrown.name;
    this.error = thrown.error;
    if (thrown.stack !== undefined) this.stack = thrown.stack;
  }
}

export interface ThreadedTelegramSender extends TelegramSender {
  /**
   * Resolves once the thread has loaded and can make requests at once; rejects if it cannot start.
   * Calls made before wait for it, and then go out together.
   */
  ready(): Promise<void>;
  /** Waits for the sends in flight, then stops the thread. */
  close(): Promise<void>;
}

interface Waiting {
  resolve: (result: DeliveryResult) => void;
  reject: (error: Error) => void;
  /** The thread the call went to, once it went. */
  on?: Worker;
  departure?: Departure;
}

/** How long `close` waits for the calls in flight beyond a request's own timeout. */
const CLOSE_GRACE_MS = 5_000;

/**
 * A `TelegramSender` whose requests are made on a worker thread with a grammY client of its own, so
 * that a worker's main thread, which in a fan-out also runs the queues, the store and the pace, is
 * not also the HTTP client of every message (a quarter of its time in `bench:fanout`). Each call
 * resolves or rejects as `createTelegramSender`'s does; a thrown error comes back as a
 * `SendThreadError` with the original's name and message. The thread starts at once, and again with
 * the next call after it stopped (a crash fails only the calls it held, which the outbox retries).
 * `api`, for the bot's other calls, is a client on the calling thread. Not a Piscina pool, as the
 * step and chart threads are: a task a message cost more to cross than this batch a turn.
 */
export function threadedTelegramSender(
  opts: TelegramSenderOptions & {
    /** Told when the thread fails or stops, whether or not calls were waiting on it. */
    onThreadError?: (error: Error) => void;
    /** The thread's module (a test's, to make it stop); it answers as `send-thread.ts` does. */
    threadModule?: URL;
  },
): ThreadedTelegramSender {
  const {
    onThreadError,
    threadModule = new URL('./send-thread.ts', import.meta.url),
    ...senderOptions
  } = opts;
  const { api } = createTelegramSender(senderOptions);
  const waiting = new Map<number, Waiting>();
  let nextId = 1;
  let requests: SendRequest[] = [];
  let closed = false;
  /** Set once `close` stops the thread: its exit is then no failure. */
  let stopping = false;
  // Started at once: a push then does not wait for the thread's start, and one that cannot start
  // is in the log before the first push (a call then starts it again).
  let ready: Promise<void> = Promise.resolve();
  let thread: Worker | undefined = start();

  /** Fails the calls that went to `worker`: an answer from it will not come. */
  const failOn = (worker: Worker, error: Error) => {
    for (const [id, w] of waiting) {
      if (w.on !== worker) continue;
      waiting.delete(id);
      w.reject(error);
    }
  };

  function start(): Worker {
    const worker = new Worker(new URL('../../src/runtime/ts-thread.mjs', import.meta.url), {
      workerData: { module: threadModule.href, sender: senderOptions },
    });
    let loaded = () => {};
    ready = new Promise<void>((resolve, reject) => {
      loaded = resolve;
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`the Telegram send thread stopped (exit code ${code})`)),
      );
    });
    // Whoever asks is told; an unasked failure is told to `onThreadError` below.
    ready.catch(() => {});
    worker.on('message', (answers: SendAnswer[] | 'ready') => {
      if (answers === 'ready') return loaded();
      for (const a of answers) {
        const w = waiting.get(a.id);
        if (!w) continue;
        if ('leftAt' in a) {
          w.departure?.leftLate(a.leftAt - performance.timeOrigin);
          continue;
        }
        waiting.delete(a.id);
        if ('result' in a) w.resolve(a.result);
        else w.reject(new SendThreadError(a.error));
      }
    });
    let failed = false;
    worker.on('error', (error) => {
      if (thread === worker) thread = undefined;
      failed = true;
      onThreadError?.(error);
      failOn(worker, error);
    });
    worker.on('exit', (code) => {
      if (thread === worker) thread = undefined;
      const error = new Error(`the Telegram send thread stopped (exit code ${code})`);
      // An exit after an error, or on close, is no news.
      if (!failed && !stopping) onThreadError?.(error);
      failOn(worker, error);
    });
    return worker;
  }

  function flush(): void {
    const batch = requests;
    requests = [];
    if (batch.length === 0) return;
    try {
      if (stopping) throw new Error('the Telegram sender is closed');
      thread ??= start();
      const on = thread;
      on.postMessage(batch);
      for (const { id } of batch) {
        const w = waiting.get(id);
        if (w) w.on = on;
      }
    } catch (error) {
      // Not sent (a message that does not cross, a thread that does not start, the sender closed):
      // these calls fail, the outbox retries them, and the process goes on.
      for (const { id } of batch) {
        waiting.get(id)?.reject(error instanceof Error ? error : new Error(String(error)));
        waiting.delete(id);
      }
    }
  }

  function request(call: Call, departure?: Departure): Promise<DeliveryResult> {
    if (closed) return Promise.reject(new Error('the Telegram sender is closed'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject, ...(departure ? { departure } : {}) });
      // Requests made in one turn of the event loop cross together.
      if (requests.push({ ...call, id }) === 1) setImmediate(flush);
    });
  }

  return {
    api,
    ready: () => ready,
    // The request leaves on the thread, a turn of each event loop after this: that is where it
    // checks whether it is late.
    send: (chatId, message, departure) =>
      request(
        {
          op: 'send',
          chatId,
          message,
          ...(departure ? { lateAfter: performance.timeOrigin + departure.lateAfter } : {}),
        },
        departure,
      ),
    closeMessage: (chatId, messageId, text) =>
      request({ op: 'close', chatId, messageId, ...(text === undefined ? {} : { text }) }),
    async close() {
      closed = true;
      const inFlight = [...waiting.values()].map(
        (w) =>
          new Promise<void>((settled) => {
            const { resolve, reject } = w;
            w.resolve = (result) => {
              resolve(result);
              settled();
            };
            w.reject = (error) => {
              reject(error);
              settled();
            };
          }),
      );
      // A request gives up after its timeout; a thread that answers nothing by then is stopped,
      // which fails what it still holds.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((done) => {
        timer = setTimeout(
          done,
          (senderOptions.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000 + CLOSE_GRACE_MS,
        );
      });
      await Promise.race([Promise.all(inFlight), grace]);
      clearTimeout(timer);
      stopping = true;
      await thread?.terminate();
      thread = undefined;
    },
  };
}
