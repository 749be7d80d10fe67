import { fork } from 'node:child_process';
import {
  type FakeBotApiOptions,
  type FakeBotApiStats,
  type RateLimited,
  startFakeBotApi,
} from '../test/support/fake-bot-api.ts';

/**
 * The fake Bot API a benchmark phase delivers to, in a process of its own (as a platform is: a pause
 * of the coach's threads must not hold up the clock that stamps its requests) or in the benchmark's
 * own process (as before, for comparison). Either way every question is asked the same way.
 */
export interface BenchFake {
  readonly apiRoot: string;
  counts(): Promise<FakeCounts>;
  /** sendMessage calls answered ok, one number a chat. */
  perChat(): Promise<number[]>;
  /** Each message answered ok and Date.now() at its arrival (with `recordMessages`). */
  arrivals(): Promise<Arrival[]>;
  /** Every message the rate limit refused. */
  refusals(): Promise<RateLimited[]>;
  /**
   * CPU seconds (user and system) of the fake's own process; 0 in the benchmark's process, where
   * process.cpuUsage() already counts it.
   */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

export type FakeProcess = 'own' | 'shared';

export interface Arrival {
  chatId: string;
  at: number;
}

/** The counters a phase reads while it runs, without the per-chat map. */
const COUNT_KEYS = [
  'delivered',
  'photos',
  'status429',
  'status429PerChat',
  'connections',
  'firstDeliveryAt',
  'lastDeliveryAt',
] as const satisfies readonly (keyof FakeBotApiStats)[];

export type FakeCounts = Pick<FakeBotApiStats, (typeof COUNT_KEYS)[number]>;

/** What can cross to the fake's process: its options without the functions. */
export type BenchFakeOptions = Pick<FakeBotApiOptions, 'rateLimit' | 'recordMessages'>;

export type Question = 'counts' | 'perChat' | 'arrivals' | 'refusals' | 'cpuSeconds';

/** One fake's answers, where it runs. */
export function answerer(
  fake: Awaited<ReturnType<typeof startFakeBotApi>>,
  refused: readonly RateLimited[],
  cpuSeconds: () => number,
): (question: Question) => unknown {
  return (question) => {
    switch (question) {
      case 'counts':
        return Object.fromEntries(COUNT_KEYS.map((key) => [key, fake.stats[key]])) as FakeCounts;
      case 'perChat':
        return [...fake.stats.deliveredPerChat.values()];
      case 'arrivals':
        return fake
          .messages()
          .filter((m) => m.method === 'sendMessage' || m.method === 'sendPhoto')
          .map(({ chatId, at }) => ({ chatId, at }) satisfies Arrival);
      case 'refusals':
        return refused.slice();
      case 'cpuSeconds':
        return cpuSeconds();
    }
  };
}

export async function startBenchFake(where: FakeProcess, opts: BenchFakeOptions): Promise<BenchFake> {
  return where === 'own' ? startInOwnProcess(opts) : startShared(opts);
}

async function startShared(opts: BenchFakeOptions): Promise<BenchFake> {
  const refused: RateLimited[] = [];
  const fake = await startFakeBotApi({ ...opts, onRateLimited: (r) => refused.push(r) });
  const answer = answerer(fake, refused, () => 0);
  const ask = async <T>(question: Question) => answer(question) as T;
  return {
    apiRoot: fake.apiRoot,
    counts: () => ask('counts'),
    perChat: () => ask('perChat'),
    arrivals: () => ask('arrivals'),
    refusals: () => ask('refusals'),
    cpuSeconds: () => ask('cpuSeconds'),
    stop: () => fake.stop(),
  };
}

interface Answer {
  id: number;
  value?: unknown;
  error?: string;
}

async function startInOwnProcess(opts: BenchFakeOptions): Promise<BenchFake> {
  const child = fork(new URL('./fake-platform-process.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let gone: Error | undefined;
  child.on('message', (message: Answer) => {
    const waiter = waiting.get(message.id);
    if (!waiter) return;
    waiting.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(`fake Bot API process: ${message.error}`));
    else waiter.resolve(message.value);
  });
  const fail = (error: Error) => {
    gone ??= error;
    for (const waiter of waiting.values()) waiter.reject(gone);
    waiting.clear();
  };
  // A fork that cannot start says so here; without a listener its error would end the run.
  child.on('error', (error) => fail(new Error(`fake Bot API process: ${error.message}`)));
  child.once('exit', (code, signal) =>
    fail(new Error(`fake Bot API process exited (${signal ?? `code ${code}`})`)),
  );
  const call = <T>(message: { ask: Question | 'start' | 'stop'; opts?: BenchFakeOptions }) =>
    new Promise<T>((resolve, reject) => {
      if (gone) return reject(gone);
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, ...message });
    });
  const apiRoot = await call<string>({ ask: 'start', opts });
  return {
    apiRoot,
    counts: () => call({ ask: 'counts' }),
    perChat: () => call({ ask: 'perChat' }),
    arrivals: () => call({ ask: 'arrivals' }),
    refusals: () => call({ ask: 'refusals' }),
    cpuSeconds: () => call({ ask: 'cpuSeconds' }),
    async stop() {
      if (!gone) await call({ ask: 'stop' }).catch(() => undefined);
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
