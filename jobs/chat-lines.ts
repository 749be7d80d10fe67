import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { groupedCalls } from '../src/runtime/grouped-calls.ts';

/**
 * Each chat's queued deliveries in the order they were queued: a list of job ids in Redis, one a
 * recipient. Deliveries to one chat are separate jobs, and under the worker's concurrency, a retry's
 * backoff or a chat's gap, a later one could otherwise reach the patient first (two quick replies
 * swapped, or a reply ahead of the one whose send failed before it). A job goes out only when it is
 * first in its chat's line, and the fast path sends at once only to a chat with no line.
 *
 * A line heals itself: a first entry whose job is gone (removed, or its add failed) or finished (a
 * crash between a job's end and its leaving) is dropped by the next job that finds it there. A job
 * not in its chat's line at all (queued before lines, or left in it no more) goes when it runs.
 */
export class ChatLines {
  private readonly redis: LineRedis;
  /** Whether each line exists: a fan-out's pushes ask many at a time, one command for them all. */
  private readonly exist: (line: string) => Promise<boolean>;
  /** Jobs leaving their lines, many to a command as a backlog drains; each gets its line's next. */
  private readonly left: (leaving: { line: string; jobId: string }) => Promise<string | null>;

  /** `queue`: the outbox's, whose keys the lines sit beside and whose jobs they order. */
  constructor(
    redis: Redis,
    private readonly queue: Queue,
  ) {
    if (!('backcoachLineFirst' in redis)) {
      redis.defineCommand('backcoachLineFirst', { numberOfKeys: 1, lua: FIRST });
      redis.defineCommand('backcoachLinesLeave', { lua: LEAVE });
      redis.defineCommand('backcoachLinesExist', { lua: EXIST });
    }
    this.redis = redis as LineRedis;
    this.exist = groupedCalls(async (lines) =>
      (await this.redis.backcoachLinesExist(lines.length, ...lines)).map((found) => found === 1),
    );
    this.left = groupedCalls(async (leaving) => {
      // An empty line's next is false in the script (nil cannot sit in a Lua table), null here.
      const next = await this.redis.backcoachLinesLeave(
        leaving.length,
        ...leaving.map((one) => one.line),
        ...leaving.map((one) => one.jobId),
      );
      return next.map((id) => (typeof id === 'string' ? id : null));
    });
  }

  private keyOf(recipient: string): string {
    return this.queue.toKey(`line:${recipient}`);
  }

  /** Whether the recipient has deliveries queued (the fast path then queues behind them). */
  waiting(recipient: string): Promise<boolean> {
    return this.exist(this.keyOf(recipient));
  }

  /** Puts a job last in its recipient's line; before the job is added, so it never runs outside it. */
  async join(recipient: string, jobId: string): Promise<void> {
    await this.redis
      .multi()
      .rpush(this.keyOf(recipient), jobId)
      .pexpire(this.keyOf(recipient), LINE_TTL_MS)
      .exec();
  }

  /** Whether the job may go now: first in its recipient's line, or in none. */
  async first(recipient: string, jobId: string): Promise<boolean> {
    // A job's hash is its id under the queue's prefix, as `toKey` gives it.
    return (await this.redis.backcoachLineFirst(this.keyOf(recipient), jobId, this.queue.toKey(''))) === 1;
  }

  /**
   * Takes a job out of its recipient's line and wakes the job now first, if it waits in the delayed
   * set, so it need not wait out its turn's next look (`LINE_LOOK_MS`).
   */
  async leave(recipient: string, jobId: string): Promise<void> {
    const next = await this.left({ line: this.keyOf(recipient), jobId });
    if (next === null) return;
    const job = await this.queue.getJob(next);
    // It refuses a job not delayed (waiting, or running already): nothing to wake. Whatever else
    // it fails for, the job looks again after LINE_LOOK_MS.
    await job?.promote().catch(() => undefined);
  }

  /** Drops the recipient's line (a deleted patient's, whose jobs are removed with it). */
  async forget(recipient: string): Promise<void> {
    await this.redis.del(this.keyOf(recipient));
  }
}

/** How often a job that is not first looks again, when the one before it does not wake it. */
export const LINE_LOOK_MS = 5000;

/**
 * A line is refreshed by every job that joins it; one left behind by a crash goes after a day. The
 * longest a job stays first is its retries' backoff, about 17 minutes over 10 attempts.
 */
const LINE_TTL_MS = 24 * 3600 * 1000;

type LineRedis = Redis & {
  backcoachLineFirst(line: string, jobId: string, jobKeyPrefix: string): Promise<number>;
  backcoachLinesLeave(count: number, ...linesThenJobIds: string[]): Promise<(string | null)[]>;
  backcoachLinesExist(count: number, ...lines: string[]): Promise<number[]>;
};

// For each key, 1 when it exists (EXISTS of many keys answers only how many).
const EXIST = `
local found = {}
for i = 1, #KEYS do found[i] = redis.call('EXISTS', KEYS[i]) end
return found
`;

// 1 when ARGV[1] may go: it is first, or not in the line. A first entry whose job hash is gone or
// has finished is dropped on the way. The jobs' hashes are read by a prefix (not declared keys):
// like BullMQ's own scripts, this needs the queue's keys on one Redis (no Cluster: docs/ARCHITECTURE.md).
const FIRST = `
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head or head == ARGV[1] then return 1 end
  local job = ARGV[2] .. head
  if redis.call('EXISTS', job) == 1 and redis.call('HEXISTS', job, 'finishedOn') == 0 then
    if redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
    return 1
  end
  redis.call('LPOP', KEYS[1])
end
`;

// Removes each ARGV[i] from the line KEYS[i]; answers, in place, the id now first in it (false
// when the line is empty).
const LEAVE = `
local next = {}
for i = 1, #KEYS do
  redis.call('LREM', KEYS[i], 1, ARGV[i])
  next[i] = redis.call('LINDEX', KEYS[i], 0)
end
return next
`;
