/**
 * The thread of `threadedTelegramSender`: a grammY client of its own, whose requests and answers
 * (building, writing and parsing them, about a quarter of a worker's main thread in a fan-out) are
 * this thread's work. Requests come in batches; answers go back in batches, one a turn of this
 * thread's event loop, since one message across threads costs about what a small request does.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { createTelegramSender, type TelegramSenderOptions } from './sender.ts';
import type { SendAnswer, SendRequest, ThreadError } from './threaded-sender.ts';

const port = parentPort;
if (!port) throw new Error('send-thread.ts runs as a worker thread');
const sender = createTelegramSender((workerData as { sender: TelegramSenderOptions }).sender);

let answers: SendAnswer[] = [];
function answer(a: SendAnswer): void {
  if (answers.push(a) === 1) setImmediate(flush);
}
function flush(): void {
  const batch = answers;
  answers = [];
  port?.postMessage(batch);
}

/** An error as it crosses: its class is lost there, so its name goes with it, what it wraps and its stack. */
function thrown(error: unknown): ThreadError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const inner = (error as { error?: unknown }).error;
  return {
    name: error.name,
    message: error.message,
    ...(inner === undefined ? {} : { error: String(inner) }),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  };
}

/** A request's departure on this thread's clock; its lateness goes back on the shared one at once. */
function departure(id: number, lateAfter: number) {
  return {
    lateAfter: lateAfter - performance.timeOrigin,
    leftLate: (leftAt: number) => answer({ id, leftAt: leftAt + performance.timeOrigin }),
  };
}

port.on('message', (requests: SendRequest[]) => {
  for (const r of requests) {
    const sent =
      r.op === 'send'
        ? sender.send(
            r.chatId,
            r.message,
            r.lateAfter === undefined ? undefined : departure(r.id, r.lateAfter),
          )
        : sender.closeMessage(r.chatId, r.messageId, r.text);
    sent.then(
      (result) => answer({ id: r.id, result }),
      (error: unknown) => answer({ id: r.id, error: thrown(error) }),
    );
  }
});

// Loaded, with its client: the caller may start sending.
port.postMessage('ready');
