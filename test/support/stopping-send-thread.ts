/**
 * The send thread, which stops (as a crash would) on a batch with a request to chat "stop", with exit
 * code 3, in the same turn as it takes the batch: before any of its requests is written.
 */
import { parentPort } from 'node:worker_threads';
import type { SendRequest } from '../../adapters/telegram/threaded-sender.ts';

// The thread's own listener first: the port delivers to the listeners there are when a batch comes.
await import('../../adapters/telegram/send-thread.ts');
parentPort?.on('message', (requests: SendRequest[]) => {
  if (requests.some((r) => r.chatId === 'stop')) process.exit(3);
});
