import type { Redis } from 'ioredis';

/**
 * Times are µs on Redis's clock; stored with '%.0f' because Lua's tostring keeps 14 digits only.
 * Reserves the next free slot, at most `horizon` µs ahead, against Redis's clock: slots follow one
 * another `interval` µs apart whichever process asks. Returns {wait µs, slot µs}, or {-1, µs to come
 * back after} when the next free slot lies beyond the horizon.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
if slot - now > horizon then return {-1, slot - now - horizon} end
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', math.ceil((slot + interval - now) / 1000) + 1000)
return {slot - now, slot}
`;

/** Moves the next free slot to at least `ARGV[1]` µs from now (a platform's retry-after). */
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local resume = now + tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if resume > slot then
  redis.call('SET', KEYS[1], string.format('%.0f', resume), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 0
`;

/**
 * Outstanding reservations reach at most this far ahead. A platform's retry-after stops every
 * sender but those already holding a slot, so this bounds what goes out after a 429 (the fake Bot
 * API forgives 100 ms of it, as a platform must for requests already on their way).
 */
const HORIZON_US = 50_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type PacerRedis = Redis & {
  backcoachPaceReserve(key: string, interval: number, horizon: number): Promise<[number, number]>;
  backcoachPacePause(key: string, us: number): Promise<number>;
};

/**
 * One even pace for every message to a platform, shared by all processes through Redis: a sender
 * reserves the next slot (`1000 / rate` ms after the last one reserved) and waits for it. A slot is
 * an instant on Redis's clock, not a window counted from whenever a sender happened to wake, so a
 * sender's timer waking late does not push every later slot back: limiters that deny and let the
 * caller retry (BullMQ's among them) lose that slack on every slot, 5 % of the rate at 30/s.
 */
export class SendPacer {
  private readonly redis: PacerRedis;
  /** Microseconds between two slots. */
  readonly interval: number;
  /** The end of the last pause asked of this pacer (ms, its own clock). */
  private resumeAt = 0;

  constructor(
    redis: Redis,
    private readonly key: string,
    ratePerSecond: number,
  ) {
    if (!(ratePerSecond > 0)) throw new Error(`SendPacer: rate must be positive, got ${ratePerSecond}`);
    // A hair slower than the rate: a request that leaves a millisecond late must not make the
    // platform, counting over a sliding second, see one more than the rate.
    this.interval = Math.ceil(1_000_000 / (ratePerSecond * 0.99));
    if (!('backcoachPaceReserve' in redis)) {
      redis.defineCommand('backcoachPaceReserve', { numberOfKeys: 1, lua: RESERVE });
      redis.defineCommand('backcoachPacePause', { numberOfKeys: 1, lua: PAUSE });
    }
    this.redis = redis as PacerRedis;
  }

  /** Reserves the next slot and waits until it comes; returns the slot (µs on Redis's clock). */
  async slot(): Promise<number> {
    const horizon = Math.max(HORIZON_US, this.interval);
    for (;;) {
      const [wait, at] = await this.redis.backcoachPaceReserve(this.key, this.interval, horizon);
      if (wait === -1) {
        await sleep(Math.max(1, Math.ceil(at / 1000)));
        continue;
      }
      if (wait >= 1000) await sleep(Math.floor(wait / 1000));
      // A 429 seen here while this sender waited: its slot, reserved before, is given up.
      const paused = this.resumeAt - Date.now();
      if (paused > 0) {
        await sleep(paused);
        continue;
      }
      return at;
    }
  }

  /**
   * Nobody gets a slot for `ms` (a platform's retry-after). Senders waiting on this pacer give up
   * the slot they hold and reserve again; slots reserved through other pacers stand (at most the
   * 50 ms horizon of them: other processes, and a worker's second pacer for direct pushes).
   */
  async pause(ms: number): Promise<void> {
    this.resumeAt = Math.max(this.resumeAt, Date.now() + ms);
    await this.redis.backcoachPacePause(this.key, Math.ceil(ms * 1000));
  }
}
