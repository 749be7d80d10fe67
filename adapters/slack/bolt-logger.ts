import { format } from 'node:util';
import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from 'pino';
import { scrubCredentials } from '../../src/runtime/logger.ts';

/**
 * Bolt, its receivers and the Web API client log through this, so their lines are JSON like ours.
 * Their debug and info output is dropped whatever the level: it includes whole request bodies, i.e.
 * what a patient wrote. Warnings and errors keep their words (credentials blanked) and any error
 * object goes through the project's error serialiser, which leaves out what was sent.
 */
export function boltLogger(log: Logger): BoltLogger {
  let name = 'slack';
  const write = (level: 'warn' | 'error', args: unknown[]) => {
    const err = args.find((arg) => arg instanceof Error);
    const words = args.filter((arg) => typeof arg === 'string' || typeof arg === 'number');
    const msg = scrubCredentials(format(...words)) || (err ? 'error' : '');
    log[level]({ component: name, ...(err ? { err } : {}) }, msg);
  };
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...args: unknown[]) => write('warn', args),
    error: (...args: unknown[]) => write('error', args),
    setLevel: () => undefined,
    getLevel: () => LogLevel.WARN,
    setName: (next: string) => {
      name = next;
    },
  };
}
