import { type ChildProcess, spawn } from 'node:child_process';
import type { Queue } from 'bullmq';
import { afterAll, afterEach } from 'vitest';

/**
 * A worker process exactly as an operator starts one: `npm start` with ROLES=worker, delivering
 * through the Bot API at `apiRoot`.
 */
export function startWorkerProcess(opts: {
  redisUrl: string;
  prefix: string;
  apiRoot: string;
  env?: Record<string, string>;
}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      REDIS_URL: opts.redisUrl,
      REDIS_PREFIX: opts.prefix,
      ROLES: 'worker',
      TELEGRAM_BOT_TOKEN: '123:workers',
      TELEGRAM_API_ROOT: opts.apiRoot,
      TELEGRAM_RATE_PER_SECOND: '1000',
      LOG_LEVEL: 'warn',
      ...opts.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** The process's exit code once it has exited (null when a signal ended it). */
export const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

/**
 * The worker processes and queues of one test file: a process still running after its test is
 * SIGKILLed, and the queues are emptied and closed after the file.
 */
export function useWorkerProcesses() {
  const children: ChildProcess[] = [];
  const queues: Queue[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });
  afterAll(async () => {
    for (const q of queues) await q.obliterate({ force: true }).catch(() => undefined);
    await Promise.all(queues.map((q) => q.close()));
  });
  return {
    start(opts: Parameters<typeof startWorkerProcess>[0]): ChildProcess {
      const child = startWorkerProcess(opts);
      children.push(child);
      return child;
    },
    queue<Q extends Queue>(queue: Q): Q {
      queues.push(queue);
      return queue;
    },
  };
}
