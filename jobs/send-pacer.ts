import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';

/**
 * How long a pace's count of slots given outlives its last reservation (ms). A late request's notice
 * that finds the count gone, or behind its own slot, cannot tell how many slots came after it, and
 * moves the pace as if the rate's worth had (the safe way: counting too few moves it too little).
 */
const COUNT_TTL_MS = 60_000;

/**
 * Times are µs on Redis's clock; stored with '%.0f' because Lua's tostring keeps 14 digits only.
 * Reserves up to `ARGV[3]` consecutive free slots of the pace at KEYS[1], none more than `horizon` µs
 * ahead and none before the pause at KEYS[2] ends (KEYS[2] may be KEYS[1]), against Redis's clock:
 * slots follow one another `interval` µs apart whichever process asks. KEYS[3] counts the slots
 * given (kept while the pace is used). Returns {wait µs, first slot µs, slots granted, slots given
 * in all}, or {-1, µs to come back after, 0, 0} when the next free slot lies beyond the horizon.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), paused, now)
if slot - now > horizon then return {-1, slot - now - horizon, 0, 0} end
local granted = math.min(tonumber(ARGV[3]), math.floor((now + horizon - slot) / interval) + 1)
local after = slot + granted * interval
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1000)
local given = redis.call('INCRBY', KEYS[3], granted)
redis.call('PEXPIRE', KEYS[3], ${COUNT_TTL_MS})
return {slot - now, slot, granted, given}
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
 * For a sender about to send in the slot `ARGV[1]` (µs), late: moves the next free slot back by
 * however late it is now, on Redis's clock, beyond `ARGV[2]` µs, so the second that follows its
 * request holds no more than the rate. Returns the µs moved.
 */
const SHIFT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local shift = now - tonumber(ARGV[1]) - tonumber(ARGV[2])
if shift <= 0 then return 0 end
local after = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now) + shift
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1000)
return shift
`;

/**
 * For a request that left `ARGV[3]` µs later than `LATE_MS` after its slot `ARGV[1]`, the slot given
 * `ARGV[2]` slots into the count at KEYS[2]: makes sure that the `ARGV[4]`-th slot after it (the
 * rate's) comes at least a window (`ARGV[6]` µs: a second and the pace's margin) after the request
 * left late, by moving the next free slot of the pace at KEYS[1] back so that, were every slot from
 * it on given back to back, `ARGV[5]` µs apart, that one would come no earlier. The slots given after
 * the late one already stand, and count; time in which the pace gave none (a pace far from full,
 * as a fan-out's with no platform limit is) absorbs the lateness. Returns the µs the next slot
 * anyone gets moved.
 */
const MOVE_BACK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local from = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local given = tonumber(redis.call('GET', KEYS[2]) or '-1')
local toCome = 0
if given > tonumber(ARGV[2]) then toCome = math.max(0, tonumber(ARGV[4]) - (given - tonumber(ARGV[2]) - 1) - 1) end
local floor = tonumber(ARGV[1]) + tonumber(ARGV[3]) + tonumber(ARGV[6]) - toCome * tonumber(ARGV[5])
if floor <= from then return 0 end
redis.call('SET', KEYS[1], string.format('%.0f', floor), 'PX', math.ceil((floor - now) / 1000) + 1000)
return floor - from
`;

/**
 * Outstanding reservations reach at most this far ahead. A platform's retry-after stops every
 * sender but those already holding a slot, so this bounds what goes out after a 429 (the fake Bot
 * API forgives 100 ms of it, as a platform must for requests already on their way).
 */
const HORIZON_US = 50_000;

/**
 * How late a sender may be for its slot and simply take it. The pace's margin gives a platform's
 * sliding second 40 ms: a request later than that (its process paused for garbage collection, a
 * busy event loop) would arrive among the following slots' messages, one more than the rate in the
 * second they share, and a 429 stops every sender for its retry-after. This much of the margin is
 * the sender's, up to when its request has left (a request that waited longer, for a connection or
 * its thread's turn, moves the pace back as it leaves: `leftLate`); the rest, `WAY_MS`, is the way's.
 */
const LATE_MS = 10;

/**
 * The margin's share for the way from a request's last byte leaving to the platform counting it.
 * On loopback to a fake in its own process, on two busy cores, that mostly took under 1 ms, up to
 * 12 where it was logged, and (by how close runs came to a 429) now and then near 20; a network's
 * jitter is the same kind of thing. 10 ms met a 429 now and then, and 20 left a run 1 ms from one.
 */
const WAY_MS = 30;

/**
 * The sliding second a platform counts over, and the margin: the rate's slots after a request that
 * left late come no sooner than this after it, and a rate's slots span it, back to back.
 */
const WINDOW_US = 1_000_000 + (LATE_MS + WAY_MS) * 1000;

/**
 * A sender later than `LATE_MS` by up to this share of an interval keeps its slot, which keeps
 * messages in the order they asked, and first moves the pace's next free slot back by what it is
 * late beyond `LATE_MS`: the slots of the second after it move with it. On a Slack channel, a slot a
 * second, that is 51 ms, and a sender's timer is often that late. A sender later than that gives
 * its slot up and reserves another, whose lateness it then checks afresh: at Telegram's 30/s (a slot
 * every 34 ms, the share 1.7 ms) and at a fan-out's rates nearly every late sender does, since moving
 * the pace back costs every sender and giving a slot up costs one message one interval.
 */
const SHIFT_SHARE = 0.05;

/**
 * Slots a sender gives up at most before it sends late: on a machine too busy for any timer to fire
 * on time, late beats never (its request then moves the pace back as it leaves).
 */
const MAX_GIVE_UPS = 3;

/**
 * How long a reading of the offset between this process's clock and Redis's stands (ms). A sender's
 * slot is an instant on Redis's clock; when it comes by this process's clock is the slot plus the
 * least offset seen lately, the one read when the process took Redis's answer at once. An answer read
 * late (a busy event loop) would otherwise make its senders look that much earlier than they are.
 * The readings age out so that the two clocks' drift cannot build up.
 */
const OFFSET_WINDOW_MS = 5_000;

/**
 * A slot reserved (`at`, µs on Redis's clock, and `due`: when it comes by this process's clock, in
 * ms), or none within the horizon yet ({retryIn µs}).
 */
type Grant = { at: number; due: number; index: number } | { retryIn: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type PacerRedis = Redis & {
  backcoachPaceReserve(
    key: string,
    gate: string,
    count: string,
    interval: number,
    horizon: number,
    wanted: number,
  ): Promise<[number, number, number, number]>;
  backcoachPacePause(key: string, us: number): Promise<number>;
  backcoachPaceShift(key: string, slot: number, lateUs: number): Promise<number>;
  backcoachPaceMoveBack(
    key: string,
    count: string,
    slot: number,
    index: number,
    lateUs: number,
    rate: number,
    interval: number,
    window: number,
  ): Promise<number>;
};

/**
 * A slot a sender was given: `at`, µs on Redis's clock, and `lateAfter`, the instant on this
 * thread's `performance.now()` after which its request leaves late (the pace made room up to then).
 */
export interface Slot {
  at: number;
  lateAfter: number;
  /** How many slots the pace had given before this one. */
  index: number;
  /** How much later than `LATE_MS` the pace already made room for it (µs), within `lateAfter`. */
  roomUs: number;
}

/**
 * Where a message waits for its turn: `slot` before sending, `pause` on a platform's retry-after,
 * and `leftLate` when its request left after the slot's `lateAfter` all the same (it waited
 * somewhere between the slot and the platform: a thread's turn, a round trip before the request).
 */
export interface Pace {
  slot(): Promise<Slot>;
  pause(ms: number): Promise<void>;
  leftLate(slot: Slot, leftAt: number): Promise<void>;
}

/**
 * One even pace for every message to a platform, shared by all processes through Redis: a sender
 * reserves the next slot (`1000 / rate` ms after the last one reserved) and waits for it. A slot is
 * an instant on Redis's clock, not a window counted from whenever a sender happened to wake, so a
 * sender's timer waking late does not push every later slot back: limiters that deny and let the
 * caller retry (BullMQ's among them) lose that slack on every slot, 5 % of the rate at 30/s.
 * Senders of one pacer that ask while a reservation is on its way are served by the next one, for
 * all of them at once: a fan-out's pushes do not each make a round trip for their slot. With a
 * `gate`, a retry-after pauses the gate rather than this pace: every pace behind the same gate (a
 * Slack workspace's channels) waits it out.
 */
export class SendPacer implements Pace {
  private readonly redis: PacerRedis;
  /** Microseconds between two slots. */
  readonly interval: number;
  /** The platform's rate in whole messages: how many it takes in a second. */
  private readonly slotsPerSecond: number;
  /** Where the pace counts the slots it has given. */
  private readonly countKey: string;
  /** The end of the last pause asked of this pacer (ms, its own clock). */
  private resumeAt = 0;
  /** Senders waiting for the next reservation, and whether one is on its way. */
  private asking: { resolve(grant: Grant): void; reject(error: unknown): void }[] = [];
  private reserving = false;
  /** The least offset (ms, this clock less Redis's) read in this window and in the one before. */
  private offset = { window: 0, least: Number.POSITIVE_INFINITY, before: Number.POSITIVE_INFINITY };

  /** Where a pause is kept: the gate, or the pace's own key. */
  private readonly pauseKey: string;
  private readonly now: () => number;

  constructor(
    redis: Redis,
    readonly key: string,
    ratePerSecond: number,
    opts: {
      gate?: string;
      /** This process's clock for a sender's lateness, in ms (tests set it). */
      now?: () => number;
    } = {},
  ) {
    this.pauseKey = opts.gate ?? key;
    this.now = opts.now ?? (() => performance.now());
    if (!(ratePerSecond > 0)) throw new Error(`SendPacer: rate must be positive, got ${ratePerSecond}`);
    // A little slower than the rate: a platform counting over a sliding second must not see one
    // more than the rate when a request left or arrived late. A second's first request may arrive
    // 40 ms late and its last on time: LATE_MS of it for the sender, WAY_MS for the way.
    this.interval = Math.ceil(WINDOW_US / ratePerSecond);
    this.slotsPerSecond = Math.max(1, Math.floor(ratePerSecond));
    this.countKey = `${key}:given`;
    if (!('backcoachPaceReserve' in redis)) {
      redis.defineCommand('backcoachPaceReserve', { numberOfKeys: 3, lua: RESERVE });
      redis.defineCommand('backcoachPacePause', { numberOfKeys: 1, lua: PAUSE });
      redis.defineCommand('backcoachPaceShift', { numberOfKeys: 1, lua: SHIFT });
      redis.defineCommand('backcoachPaceMoveBack', { numberOfKeys: 2, lua: MOVE_BACK });
    }
    this.redis = redis as PacerRedis;
  }

  /** Reserves the next slot and waits until it comes. */
  async slot(): Promise<Slot> {
    for (let givenUp = 0; ; ) {
      const grant = await this.reserve();
      if ('retryIn' in grant) {
        await sleep(Math.max(1, Math.ceil(grant.retryIn / 1000)));
        continue;
      }
      const { at, due, index } = grant;
      // Not before the slot (a request that leaves early shortens the platform's second as a late
      // one does), but no timer for less than a millisecond, which would cost more than it keeps.
      const early = due - this.now();
      if (early >= 1) await sleep(Math.ceil(early));
      // A 429 seen here while this sender waited: its slot, reserved before, is given up.
      const paused = this.resumeAt - Date.now();
      if (paused > 0) {
        await sleep(paused);
        continue;
      }
      const room = givenUp >= MAX_GIVE_UPS ? 0 : await this.makeRoom(at, due);
      if (room !== undefined) return { at, lateAfter: due + LATE_MS + room / 1000, index, roomUs: room };
      givenUp++;
    }
  }

  /**
   * Whether a sender may take its slot now: on time, or late by little enough that moving the pace
   * back makes room for it (done here); returns the µs it moved the pace, or undefined for a slot to
   * give up. Each round trip to move it makes the sender later still, so its lateness is read again
   * after each, and Redis reads it too as it moves the pace.
   */
  private async makeRoom(at: number, due: number): Promise<number | undefined> {
    let shifted = 0;
    for (;;) {
      const beyond = (this.now() - due - LATE_MS) * 1000 - shifted;
      if (beyond <= 0) return shifted;
      if (shifted + beyond > this.interval * SHIFT_SHARE) return undefined;
      const moved = await this.redis.backcoachPaceShift(this.key, at, LATE_MS * 1000 + shifted);
      // Redis's clock says it was not late after all: the slot stands as it is.
      if (moved <= 0) return shifted;
      shifted += moved;
    }
  }

  /**
   * A request left at `leftAt` (this thread's `performance.now()`), after its slot's `lateAfter`:
   * the slots of the second after it move back by as much, as `makeRoom` does for a sender that
   * wakes late, less the time the pace has stood idle since. The request is gone, so there is no
   * slot to give up; the slots within the horizon already stand, and the second's last slots, about
   * a second away, are the ones that must move.
   */
  async leftLate(slot: Slot, leftAt: number): Promise<void> {
    const late = Math.ceil((leftAt - slot.lateAfter) * 1000);
    if (late <= 0) return;
    await this.redis.backcoachPaceMoveBack(
      this.key,
      this.countKey,
      slot.at,
      slot.index,
      slot.roomUs + late,
      this.slotsPerSecond,
      this.interval,
      WINDOW_US,
    );
  }

  private reserve(): Promise<Grant> {
    return new Promise((resolve, reject) => {
      this.asking.push({ resolve, reject });
      if (!this.reserving) void this.reserveForAll();
    });
  }

  /** One reservation for every sender asking, again while more asked in the meantime. */
  private async reserveForAll(): Promise<void> {
    this.reserving = true;
    const horizon = Math.max(HORIZON_US, this.interval);
    try {
      while (this.asking.length > 0) {
        const senders = this.asking.splice(0);
        try {
          const [wait, at, granted, given] = await this.redis.backcoachPaceReserve(
            this.key,
            this.pauseKey,
            this.countKey,
            this.interval,
            horizon,
            senders.length,
          );
          // The slot on Redis's clock, read on this one through the least offset seen lately: a
          // slow round trip makes a sender look less late than it is, never later (a far Redis
          // gives no slot up for its distance). An answer beyond the horizon carries no time.
          const offset = wait === -1 ? 0 : this.offsetTo(at - wait);
          // Beyond the horizon, each slot left over comes within reach one interval after the last.
          const tooFar = wait === -1 ? at : wait + granted * this.interval - horizon;
          senders.forEach((sender, i) => {
            sender.resolve(
              i < granted
                ? {
                    at: at + i * this.interval,
                    due: (at + i * this.interval) / 1000 + offset,
                    index: given - granted + i,
                  }
                : { retryIn: tooFar + (i - granted) * this.interval },
            );
          });
        } catch (error) {
          for (const sender of senders) sender.reject(error);
        }
      }
    } finally {
      this.reserving = false;
    }
  }

  /** This clock less Redis's (ms), the least read lately, given Redis's time in an answer read now. */
  private offsetTo(redisNow: number): number {
    const reading = this.now() - redisNow / 1000;
    const window = Math.floor(Date.now() / OFFSET_WINDOW_MS);
    if (window !== this.offset.window) {
      const before = window === this.offset.window + 1 ? this.offset.least : Number.POSITIVE_INFINITY;
      this.offset = { window, least: Number.POSITIVE_INFINITY, before };
    }
    this.offset.least = Math.min(this.offset.least, reading);
    return Math.min(this.offset.least, this.offset.before);
  }

  /**
   * Nobody gets a slot for `ms` (a platform's retry-after): no sender of this pace, or of any pace
   * behind the same gate. Senders waiting on this pacer give up the slot they hold and reserve again;
   * slots reserved through other pacers stand (no more than the horizon of them: other processes, a
   * worker's second pacer for direct pushes, the other channels behind a gate).
   */
  async pause(ms: number): Promise<void> {
    this.resumeAt = Math.max(this.resumeAt, Date.now() + ms);
    await this.redis.backcoachPacePause(this.pauseKey, Math.ceil(ms * 1000));
  }
}
