import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

export const REDIS_SERVER_MISSING =
  'redis-server is not installed: install it (e.g. apt-get install redis-server) or set REDIS_URL';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_TAIL_CHARS = 2_000;
const START_ATTEMPTS = 3;

export interface PrivateRedis {
  url: string;
  port: number;
  /** Where redis keeps its files; a temporary one is removed by stop(). */
  dir: string;
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, as a crash would (fault tests). */
  kill(): Promise<void>;
}

export interface PrivateRedisOptions {
  appendOnly?: boolean;
  /** fsync every write before answering (fault tests: what was acknowledged survives a crash). */
  fsyncAlways?: boolean;
  dir?: string;
  /** A given port (to restart on the same one); a free one otherwise. */
  port?: number;
}

export function hasRedisServer(): boolean {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, 'redis-server'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A throwaway redis-server on a free loopback port, for tests and local runs. */
export async function startPrivateRedis(opts: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  if (!hasRedisServer()) throw new Error(REDIS_SERVER_MISSING);
  const ownDir = opts.dir === undefined ? await mkdtemp(join(tmpdir(), 'backcoach-redis-')) : null;
  const dir = opts.dir === undefined ? (ownDir as string) : resolve(opts.dir);
  if (opts.dir !== undefined) await mkdir(dir, { recursive: true });
  try {
    // The free port can be taken by someone else before redis binds it; a fresh port usually works.
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freePort());
      const server = launch(port, dir, opts.appendOnly ?? false, opts.fsyncAlways ?? false);
      try {
        await waitForPong(port, server);
      } catch (error) {
        const exitedEarly = server.exited();
        await server.stop();
        if (attempt < START_ATTEMPTS && exitedEarly && opts.port === undefined) continue;
        throw error;
      }
      return {
        url: `redis://${HOST}:${port}`,
        port,
        dir,
        stop: once(async () => {
          await server.stop();
          if (ownDir) await rm(ownDir, { recursive: true, force: true });
        }),
        kill: () => server.kill(),
      };
    }
  } catch (error) {
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
    throw error;
  }
}

interface Launched {
  exited(): boolean;
  output(): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

function launch(port: number, dir: string, appendOnly: boolean, fsyncAlways: boolean): Launched {
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    appendOnly ? 'yes' : 'no',
    ...(fsyncAlways ? ['--appendfsync', 'always'] : []),
  ];
  const child = spawn('redis-server', [...args, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = false;
  const keepTail = (text: string) => {
    output = (output + text).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', (chunk: Buffer) => keepTail(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => keepTail(chunk.toString()));
  child.once('error', (error) => {
    exited = true;
    keepTail(error.message);
  });
  child.once('exit', () => {
    exited = true;
  });
  // Do not leave a server behind when the process dies without calling stop().
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  return {
    exited: () => exited,
    output: () => output.trim(),
    stop: once(async () => {
      process.off('exit', killOnExit);
      if (!exited) await terminate(child);
    }),
    kill: async () => {
      process.off('exit', killOnExit);
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    },
  };
}

function once(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => {
    running ??= task();
    return running;
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('Could not find a free port'))));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

async function waitForPong(port: number, server: Launched): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exited()) {
      throw new Error(`redis-server exited before answering PING on port ${port}: ${server.output()}`);
    }
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server did not answer PING on port ${port} within ${READY_TIMEOUT_MS} ms`);
}

/** SIGTERM lets redis flush its append-only file; SIGKILL only if it hangs. */
function terminate(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
