import { type ChildProcess, spawn } from 'node:child_process';

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
