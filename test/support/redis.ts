import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { globEscape } from '../../src/runtime/redis-glob.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../../src/runtime/redis-server.ts';

export interface RedisFixture {
  readonly redis: Redis;
  readonly url: string;
  /** A fresh random key prefix (`test:<random>:`); its keys are deleted after the file's tests. */
  prefix(): string;
  /** An extra connection, for races that need separate WATCHes; closed after the file's tests. */
  connect(): Redis;
}

async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * A real Redis for the tests of one file: a private redis-server when one is installed, else REDIS_URL.
 * Only keys under the prefixes handed out here are ever deleted, so a shared database is safe.
 */
export function useRedis(): RedisFixture {
  let server: PrivateRedis | null = null;
  let url: string | null = null;
  let main: Redis | null = null;
  const extras: Redis[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    if (hasRedisServer()) {
      server = await startPrivateRedis();
      url = server.url;
    } else if (process.env.REDIS_URL) {
      url = process.env.REDIS_URL;
    } else {
      throw new Error(
        'These tests need Redis: install redis-server (e.g. apt-get install redis-server) or set REDIS_URL',
      );
    }
    main = new Redis(url, { maxRetriesPerRequest: 2 });
    await main.ping();
  });

  afterAll(async () => {
    try {
      if (main) for (const prefix of prefixes) await deleteKeysUnder(main, prefix);
    } finally {
      await Promise.all(
        [...extras, ...(main ? [main] : [])].map((client) => client.quit().catch(() => undefined)),
      );
      await server?.stop();
    }
  });

  const ready = <T>(value: T | null, what: string): T => {
    if (value === null) throw new Error(`useRedis(): ${what} is only available inside tests and hooks`);
    return value;
  };

  return {
    get redis() {
      return ready(main, 'redis');
    },
    get url() {
      return ready(url, 'url');
    },
    prefix() {
      const prefix = `test:${randomBytes(6).toString('hex')}:`;
      prefixes.push(prefix);
      return prefix;
    },
    connect() {
      const client = new Redis(ready(url, 'url'), { maxRetriesPerRequest: 2 });
      extras.push(client);
      return client;
    },
  };
}
