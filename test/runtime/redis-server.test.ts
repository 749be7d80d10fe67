import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { hasRedisServer, REDIS_SERVER_MISSING, startPrivateRedis } from '../../src/runtime/redis-server.ts';

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

describe('startPrivateRedis', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it.skipIf(!hasRedisServer())(
    'starts a server that answers PING and removes its temp dir on stop',
    async () => {
      const server = await startPrivateRedis();
      try {
        expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
        expect(await withClient(server.url, (client) => client.ping())).toBe('PONG');
        expect(existsSync(server.dir)).toBe(true);
      } finally {
        await server.stop();
      }
      expect(await refusesConnections(server.port)).toBe(true);
      expect(existsSync(server.dir)).toBe(false);
      await server.stop();
    },
  );

  it.skipIf(!hasRedisServer())(
    'keeps data across a restart with the append-only file in a given dir',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'backcoach-aof-test-'));
      dirs.push(dir);

      const first = await startPrivateRedis({ appendOnly: true, dir });
      try {
        await withClient(first.url, (client) => client.set('survives', 'restart'));
      } finally {
        await first.stop();
      }
      expect(await readdir(dir)).not.toEqual([]);

      const second = await startPrivateRedis({ appendOnly: true, dir });
      try {
        expect(await withClient(second.url, (client) => client.get('survives'))).toBe('restart');
      } finally {
        await second.stop();
      }
    },
  );

  it('explains in one line how to get redis-server when it is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '';
    try {
      expect(hasRedisServer()).toBe(false);
      await expect(startPrivateRedis()).rejects.toThrow(REDIS_SERVER_MISSING);
    } finally {
      process.env.PATH = path;
    }
    expect(REDIS_SERVER_MISSING).toBe(
      'redis-server is not installed: install it (e.g. apt-get install redis-server) or set REDIS_URL',
    );
  });
});
