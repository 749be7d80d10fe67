/** What the benchmarks share: clean-up, CPU marks, the machine's description, formatting. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { hasRedisServer, startPrivateRedis } from '../src/runtime/redis-server.ts';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const say = (line: string) => process.stdout.write(`${line}\n`);
/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
export const perSecond = (count: number, ms: number) => (count * 1000) / ms;
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

/**
 * A run's limits, checked wherever the benchmark waits: Ctrl-C, `--timeout-minutes`, and a wait that
 * sees no progress for a minute, which is stuck and fails rather than waiting for the deadline.
 */
export class RunLimits {
  readonly deadline: number;
  private interrupted = false;

  constructor(timeoutMinutes: number) {
    this.deadline = Date.now() + timeoutMinutes * 60_000;
    process.once('SIGINT', () => {
      this.interrupted = true;
    });
  }

  /** Why the run must stop now, if it must. */
  stopReason(): string | undefined {
    if (this.interrupted) return 'interrupted';
    if (Date.now() > this.deadline) return '--timeout-minutes reached';
    return undefined;
  }

  /** Throws, naming `what` the run was doing, when it must stop. */
  check(what: string): void {
    const reason = this.stopReason();
    if (reason) throw new Error(`${reason} during ${what}`);
  }

  /** Polls `progress` every `pollMs` until `done`, reporting it every 30 s when `report` is set. */
  async waitUntil(
    what: string,
    progress: () => Promise<number>,
    done: (n: number) => boolean,
    { pollMs = 100, report = false }: { pollMs?: number; report?: boolean } = {},
  ): Promise<void> {
    let last = Number.NaN;
    let lastChange = Date.now();
    let lastReport = Date.now();
    for (;;) {
      const n = await progress();
      if (done(n)) return;
      if (n !== last) [last, lastChange] = [n, Date.now()];
      this.check(`${what} (${fmt(n)})`);
      if (Date.now() - lastChange > STALL_MS) throw new Error(`no progress for 60 s on ${what} (${fmt(n)})`);
      if (report && Date.now() - lastReport > 30_000) {
        lastReport = Date.now();
        process.stderr.write(`   … ${what}: ${fmt(n)}\n`);
      }
      await sleep(pollMs);
    }
  }
}
const STALL_MS = 60_000;

const allResources: Resources[] = [];

/**
 * What a phase started, stopped in reverse order at the phase's end so the next phase runs alone,
 * or by `endAll` at the run's end after a failure or Ctrl-C.
 */
export class Resources {
  private readonly stops: (() => Promise<unknown>)[] = [];
  private ended: Promise<void> | undefined;

  constructor(private readonly log: Logger) {
    allResources.push(this);
  }

  own<T>(thing: T, stop: (thing: T) => Promise<unknown>): T {
    this.stops.push(() => stop(thing));
    return thing;
  }

  end(): Promise<void> {
    this.ended ??= (async () => {
      for (const stop of this.stops.reverse())
        await stop().catch((err) => this.log.error({ err }, 'clean-up'));
    })();
    return this.ended;
  }
}

/** Ends every phase's resources, the newest first. */
export async function endAll(): Promise<void> {
  for (const resources of [...allResources].reverse()) await resources.end();
}

/**
 * Seconds this thread has spent on a core and runnable but waiting for one, from Linux's scheduler
 * statistics; undefined where there are none. The event loop's busy share counts both alike: only
 * these tell a thread short of a core from a thread with work to do.
 */
function threadSchedule(): { running: number; waiting: number } | undefined {
  try {
    const [running = Number.NaN, waiting = Number.NaN] = readFileSync('/proc/thread-self/schedstat', 'utf8')
      .split(' ')
      .map(Number);
    if (!Number.isFinite(running) || !Number.isFinite(waiting)) return undefined;
    return { running: running / 1e9, waiting: waiting / 1e9 };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of this process (and of `others`) and of redis-server, and the commands redis-server
 * ran (those inside Lua scripts included), to see which one a phase saturates and what each item
 * asks of Redis.
 */
export async function cpuMark(redis: Redis, others?: () => Promise<number>) {
  const info = (await redis.info('cpu')) + (await redis.info('stats'));
  const num = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  const byName = new Map<string, number>();
  for (const [, name, calls] of (await redis.info('commandstats')).matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
    byName.set(name as string, Number(calls));
  }
  const usage = process.cpuUsage();
  const own = (usage.user + usage.system) / 1e6;
  const elsewhere = others ? await others() : 0;
  return {
    at: performance.now(),
    /** This process's CPU seconds and those `others` gives (a fake platform in its own process). */
    node: own + elsewhere,
    /** `node`'s part that is `others`'. */
    others: elsewhere,
    redis: num('used_cpu_user') + num('used_cpu_sys'),
    commands: num('total_commands_processed'),
    byName,
    elu: performance.eventLoopUtilization(),
    /** This (the main) thread's time on a core and waiting for one. */
    main: threadSchedule(),
  };
}
export type CpuMark = Awaited<ReturnType<typeof cpuMark>>;

export function cpuShare(from: CpuMark, to: CpuMark) {
  const wall = (to.at - from.at) / 1000;
  return {
    seconds: wall,
    node: (to.node - from.node) / wall,
    others: (to.others - from.others) / wall,
    redis: (to.redis - from.redis) / wall,
    commands: to.commands - from.commands,
    byName: new Map(
      [...to.byName]
        .map(([name, calls]) => [name, calls - (from.byName.get(name) ?? 0)] as const)
        .filter(([, calls]) => calls > 0)
        .sort((a, b) => b[1] - a[1]),
    ),
    elu: performance.eventLoopUtilization(to.elu, from.elu).utilization,
    main:
      from.main && to.main
        ? {
            running: (to.main.running - from.main.running) / wall,
            waiting: (to.main.waiting - from.main.waiting) / wall,
          }
        : undefined,
  };
}
export type CpuShare = ReturnType<typeof cpuShare>;

export const cpuText = (c: CpuShare) =>
  `node ${fmt(c.node * 100)} % of a core (event loop busy ${fmt(c.elu * 100)} %${
    c.main
      ? `; main thread on a core ${fmt(c.main.running * 100)} %, waiting for one ${fmt(c.main.waiting * 100)} %`
      : ''
  }), redis-server ${fmt(c.redis * 100)} %`;

export async function machine(redis: Redis) {
  const info = await redis.info('server');
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memGiB: totalmem() / 2 ** 30,
    node: process.version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    allocator: /mem_allocator:(\S+)/.exec(await redis.info('memory'))?.[1] ?? 'unknown',
  };
}

/** Deletes the keys of a run, or of one phase of it: those starting with `runId` or `{runId`. */
export async function deleteRunKeys(redis: Redis, runId: string): Promise<void> {
  for (const pattern of [`${runId}*`, `{${runId}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

/** CPU time (this process and redis-server, user and system) per unit of work, in µs. */
export const cpuPerUnit = (c: CpuShare, units: number) => ((c.node + c.redis) * c.seconds * 1e6) / units;

/**
 * `cpuPerUnit` by where it was spent (µs a unit): this process's main thread and its other threads
 * (worker threads, V8's garbage-collection and compiler helpers, libuv's pool), the `others` of
 * `cpuMark` (a fake platform's process) and redis-server. Without Linux's scheduler statistics the
 * main thread is not told from the rest (`main` undefined).
 */
export function cpuParts(c: CpuShare, units: number) {
  const us = (share: number) => (share * c.seconds * 1e6) / units;
  const own = us(c.node - c.others);
  const main = c.main ? us(c.main.running) : undefined;
  return {
    main,
    otherThreads: main === undefined ? own : Math.max(0, own - main),
    others: us(c.others),
    redis: us(c.redis),
  };
}

/** Redis commands per unit of work (an update, a patient), the most frequent by name. */
export const commandsText = (c: CpuShare, units: number) =>
  `${fmt(c.commands / units, 1)} Redis commands (${[...c.byName]
    .filter(([, calls]) => calls / units >= 0.05)
    .slice(0, 12)
    .map(([name, calls]) => `${name} ${fmt(calls / units, 1)}`)
    .join(', ')})`;

/** A whole-number flag from parseArgs' values; anything else stops the benchmark with one line naming it. */
export function intFlag(values: Record<string, unknown>, name: string, min = 1): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(
      `--${name}: expected a whole number ≥ ${min}, got ${JSON.stringify(values[name])}\n`,
    );
    process.exit(2);
  }
  return n;
}

/** Runs a benchmark: a failure is printed under its name and sets the exit code; `end` always runs. */
export async function runBench(name: string, main: () => Promise<void>, end: () => Promise<void>) {
  try {
    await main();
  } catch (error) {
    process.exitCode = 1;
    process.stderr.write(`${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  } finally {
    await end();
  }
}

/**
 * The run's Redis: a private redis-server when one is installed, else REDIS_URL, where everything the
 * run writes is under keys starting with `runId` and only those are deleted at the end.
 */
export async function benchRedis(run: Resources, bench: string, runId: string) {
  let url: string;
  if (hasRedisServer()) {
    url = run.own(await startPrivateRedis(), (server) => server.stop()).url;
  } else if (process.env.REDIS_URL) {
    url = process.env.REDIS_URL;
  } else {
    throw new Error(`${bench} needs redis-server on PATH or REDIS_URL`);
  }
  const redis = run.own(new Redis(url, { maxRetriesPerRequest: null }), (r) => r.quit());
  if (!hasRedisServer()) run.own(redis, (r) => deleteRunKeys(r, runId));
  return { url, redis };
}
