/**
 * The fake Bot API's own process (see bench/fake-platform.ts): started by `fork`, told its options,
 * answers the benchmark's questions over IPC, and ends when the benchmark lets go of it.
 */
import { type RateLimited, startFakeBotApi } from '../test/support/fake-bot-api.ts';
import { answerer, type BenchFakeOptions, type Question } from './fake-platform.ts';

type Ask = { id: number } & ({ ask: 'start'; opts: BenchFakeOptions } | { ask: Question | 'stop' });

const send = (message: { id: number; value?: unknown; error?: string }) => process.send?.(message);

let fake: Awaited<ReturnType<typeof startFakeBotApi>> | undefined;
let answer: ((question: Question) => unknown) | undefined;
const refused: RateLimited[] = [];

process.on('message', async (message: Ask) => {
  try {
    if (message.ask === 'start') {
      fake = await startFakeBotApi({ ...message.opts, onRateLimited: (r) => refused.push(r) });
      answer = answerer(fake, refused, () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1e6;
      });
      send({ id: message.id, value: fake.apiRoot });
    } else if (message.ask === 'stop') {
      await fake?.stop();
      send({ id: message.id });
    } else {
      if (!answer) throw new Error(`asked ${message.ask} before start`);
      send({ id: message.id, value: answer(message.ask) });
    }
  } catch (error) {
    send({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
// The benchmark ended (or died): nothing is left to answer.
process.once('disconnect', () => {
  void (fake?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});
