import { describe, expect, it } from 'vitest';
import { SendPacer } from '../../jobs/send-pacer.ts';
import { useRedis } from '../support/redis.ts';

const redisFixture = useRedis();

async function redisMicros(): Promise<number> {
  const [seconds, micros] = await redisFixture.redis.time();
  return Number(seconds) * 1_000_000 + Number(micros);
}

/**
 * A pacer on a connection of its own that counts its reservation round trips; `answered` is the
 * last reservation's answer, `answers` all of them ({wait, first slot, slots granted}).
 */
function countedPacer(
  rate: number,
  opts: ConstructorParameters<typeof SendPacer>[3] = {},
): {
  pacer: SendPacer;
  reservations: () => number;
  answered: () => Promise<unknown>;
  answers: Promise<[number, number, number]>[];
} {
  const connection = redisFixture.connect();
  const pacer = new SendPacer(connection, `${redisFixture.prefix()}pace`, rate, opts);
  const script = connection as unknown as { backcoachPaceReserve: (...args: unknown[]) => Promise<unknown> };
  const reserve = script.backcoachPaceReserve.bind(connection);
  let last: Promise<unknown> = Promise.resolve();
  const answers: Promise<[number, number, number]>[] = [];
  script.backcoachPaceReserve = (...args) => {
    last = reserve(...args);
    answers.push(last as Promise<[number, number, number]>);
    return last;
  };
  return { pacer, reservations: () => answers.length, answered: () => last, answers };
}

/** Where the pace will place the next slot reserved (µs on Redis's clock). */
async function nextFreeSlot(pacer: SendPacer): Promise<number> {
  return Number(await redisFixture.redis.get(pacer.key));
}

/** Reserves a slot and waits for it; returns when it is (µs on Redis's clock). */
async function slotAt(pacer: SendPacer): Promise<number> {
  return (await pacer.slot()).at;
}

/** Blocks the event loop, as a long garbage collection would. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('SendPacer', () => {
  it('hands senders on two connections one slot each, never closer than the interval', async () => {
    const key = `${redisFixture.prefix()}pace`;
    const a = new SendPacer(redisFixture.connect(), key, 200);
    const b = new SendPacer(redisFixture.connect(), key, 200);
    const slots = await Promise.all(Array.from({ length: 40 }, (_, i) => slotAt(i % 2 ? a : b)));
    const sorted = [...slots].sort((x, y) => x - y);
    expect(new Set(sorted).size).toBe(40);
    for (let i = 1; i < sorted.length; i++) {
      expect((sorted[i] as number) - (sorted[i - 1] as number)).toBeGreaterThanOrEqual(a.interval);
    }
    // 4 % slower than the rate: a sliding second still counts no more than the rate when one of its
    // requests arrived up to 40 ms late (a pause of the sender's process, a slow way).
    expect(a.interval * 200).toBeGreaterThanOrEqual(1_040_000);
    expect(a.interval).toBeLessThan(1_000_000 / 192);
  });

  it('serves the senders that ask together with one reservation, slots still an interval apart', async () => {
    const { pacer, reservations } = countedPacer(100_000);
    const slots = await Promise.all(Array.from({ length: 100 }, () => slotAt(pacer)));
    // The first sender's reservation is on its way while the other 99 ask: the next one serves them.
    expect(reservations()).toBe(2);
    const sorted = [...slots].sort((x, y) => x - y);
    const gaps = sorted.slice(1).map((slot, i) => slot - (sorted[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(pacer.interval);
    // One reservation's slots follow one another exactly; only the first sender's stands apart.
    expect(gaps.filter((gap) => gap === pacer.interval).length).toBeGreaterThanOrEqual(98);
  });

  it('grants no more slots at once than fit before the horizon; the rest ask again', async () => {
    const { pacer, reservations } = countedPacer(200); // a slot every ~5 ms, at most 50 ms ahead
    const slots = await Promise.all(Array.from({ length: 30 }, () => slotAt(pacer)));
    const sorted = [...slots].sort((x, y) => x - y);
    expect(new Set(sorted).size).toBe(30);
    for (let i = 1; i < sorted.length; i++) {
      expect((sorted[i] as number) - (sorted[i - 1] as number)).toBeGreaterThanOrEqual(pacer.interval);
    }
    // 29 asking at once, ~11 slots within 50 ms: at least three more reservations after the first.
    expect(reservations()).toBeGreaterThanOrEqual(4);
  });

  it('takes a slot it woke a little late for, first moving the slots after it back by as much', async () => {
    const { pacer, reservations, answered } = countedPacer(1); // a Slack channel's: a slot every ~1040 ms
    await slotAt(pacer);
    const late = slotAt(pacer); // holds the next slot, ~1040 ms ahead, and sleeps until it comes
    await answered();
    await new Promise((resolve) => setImmediate(resolve));
    // The process stops ~30 ms past that slot: 20 ms later than a sender may be.
    stall(pacer.interval / 1000 + 30);
    const slot = await late;
    expect(reservations()).toBe(2); // its own slot, kept: the messages stay in the order they asked
    expect(await nextFreeSlot(pacer)).toBeGreaterThanOrEqual(slot + pacer.interval + 15_000);
  });

  it('gives up a slot its sender woke too late for, and reserves another', async () => {
    const { pacer, reservations, answered } = countedPacer(30); // a slot every ~34 ms
    const first = await slotAt(pacer);
    const late = slotAt(pacer);
    await answered();
    await new Promise((resolve) => setImmediate(resolve));
    // ~30 ms past its slot: moving the pace back 20 ms for it would cost every sender more than
    // giving this one slot up costs it.
    stall(pacer.interval / 1000 + 30);
    const slot = await late;
    expect(reservations()).toBe(3);
    expect(slot).toBeGreaterThanOrEqual(first + 2 * pacer.interval);
  });

  it("counts a sender's lateness on Redis's clock, however late its process read the answer", async () => {
    const { pacer } = countedPacer(1);
    await slotAt(pacer);
    const late = slotAt(pacer); // its reservation goes out now; Redis answers with a slot ~1040 ms ahead
    // The answer waits while the process is busy, past the slot: ~25 ms late when it is read, which
    // only Redis's clock tells.
    stall(pacer.interval / 1000 + 25);
    const slot = await late;
    expect(await nextFreeSlot(pacer)).toBeGreaterThanOrEqual(slot + pacer.interval + 10_000);
  });

  it('sends late rather than never when every slot it gets is gone by the time it wakes', async () => {
    // A clock that has moved on 50 ms whenever it is read: each slot looks long past.
    let reads = 0;
    const { pacer, answers } = countedPacer(30, { now: () => performance.now() + 50 * reads++ });
    const slot = await slotAt(pacer);
    // Three slots given up, the fourth taken late (other answers found the next slot beyond the
    // horizon, the slots given up still standing in the pace).
    const granted = (await Promise.all(answers)).filter(([, , count]) => count > 0);
    expect(granted).toHaveLength(4);
    expect(slot).toBe(granted[3]?.[1]);
  });

  it("moves the pace back after a request that left late, so that the rate's slots after it fill a second after it at the soonest", async () => {
    const { pacer } = countedPacer(30); // a slot every ~34 ms
    const late = await pacer.slot();
    await slotAt(pacer); // one slot given after it
    const next = await nextFreeSlot(pacer);
    await pacer.leftLate(late, late.lateAfter - 1);
    expect(await nextFreeSlot(pacer)).toBe(next);
    await pacer.leftLate(late, late.lateAfter + 200);
    // 30 slots after it: the one given, and 29 from the next free slot on, the last no sooner than
    // the second and the way's 30 ms after it left, 200 ms later than its own 10 ms allowed.
    const floor = late.at + 200_000 + 1_040_000 - 28 * pacer.interval;
    expect(await nextFreeSlot(pacer)).toBeGreaterThanOrEqual(floor);
    expect(await nextFreeSlot(pacer)).toBeLessThanOrEqual(floor + 1);
  });

  it('lets the time its pace stood idle after a late request take up the lateness', async () => {
    const { pacer } = countedPacer(30);
    const slot = await pacer.slot();
    const next = await nextFreeSlot(pacer); // ~34 ms ahead
    // Nobody asks until 30 ms past the next free slot: a later sender's slot would be no earlier.
    while ((await redisMicros()) < next + 30_000) await new Promise((resolve) => setTimeout(resolve, 10));
    await pacer.leftLate(slot, slot.lateAfter + 20);
    expect(await nextFreeSlot(pacer)).toBe(next);
  });

  it('moves the pace the safe way when its count of slots given is gone', async () => {
    const { pacer } = countedPacer(30);
    const late = await pacer.slot();
    await redisFixture.redis.del(`${pacer.key}:given`);
    await pacer.leftLate(late, late.lateAfter + 5);
    // As though the rate's worth of slots had come since: the next one a second and the margin on.
    expect(await nextFreeSlot(pacer)).toBeGreaterThanOrEqual(late.at + 5_000 + 1_040_000);
    expect(await nextFreeSlot(pacer)).toBeLessThanOrEqual(late.at + 5_001 + 1_040_000);
  });

  it('moves a pace far from full not at all for a request a little late', async () => {
    // A fan-out's pace with no platform limit: 100,000 slots a second, few of them given.
    const { pacer } = countedPacer(100_000);
    const slot = await pacer.slot();
    const next = await nextFreeSlot(pacer);
    await pacer.leftLate(slot, slot.lateAfter + 5);
    expect(await nextFreeSlot(pacer)).toBe(next);
  });

  it('gives no slot before a pause is over, to any sender', async () => {
    const key = `${redisFixture.prefix()}pace`;
    const a = new SendPacer(redisFixture.connect(), key, 1000);
    const b = new SendPacer(redisFixture.connect(), key, 1000);
    await slotAt(a);
    const before = await redisMicros();
    await a.pause(300);
    expect(await slotAt(b)).toBeGreaterThanOrEqual(before + 300_000);
  });

  it('gives up a slot reserved before a pause this process asked for while it waited', async () => {
    const key = `${redisFixture.prefix()}pace`;
    const pacer = new SendPacer(redisFixture.connect(), key, 50); // a slot every ~20 ms
    await slotAt(pacer);
    const waiting = slotAt(pacer); // holds the next slot, ~20 ms ahead
    const before = await redisMicros();
    await pacer.pause(300);
    expect(await waiting).toBeGreaterThanOrEqual(before + 300_000);
  });

  it('keeps a later slot when a shorter pause comes in', async () => {
    const key = `${redisFixture.prefix()}pace`;
    const pacer = new SendPacer(redisFixture.connect(), key, 1000);
    const before = await redisMicros();
    await pacer.pause(400);
    await pacer.pause(10);
    expect(await slotAt(pacer)).toBeGreaterThanOrEqual(before + 400_000);
  });

  it('pauses every pace behind a gate, and no pace behind another', async () => {
    const base = redisFixture.prefix();
    const pacer = (key: string, gate: string) =>
      new SendPacer(redisFixture.connect(), `${base}${key}`, 5, { gate: `${base}${gate}` });
    const [a1, a2, b1] = [pacer('a1', 'a'), pacer('a2', 'a'), pacer('b1', 'b')];
    // Two channels behind one gate keep paces of their own: both get a slot at once.
    const [s1, s2] = await Promise.all([slotAt(a1), slotAt(a2)]);
    expect(Math.abs(s1 - s2)).toBeLessThan(a1.interval);
    const before = await redisMicros();
    await a1.pause(600);
    // a2's next slot would come ~200 ms after its first; a1's retry-after holds it back, not b1.
    const [a2Next, b1First] = await Promise.all([slotAt(a2), slotAt(b1)]);
    expect(a2Next).toBeGreaterThanOrEqual(before + 600_000);
    expect(b1First).toBeLessThan(before + 600_000);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new SendPacer(redisFixture.redis, 'x', 0)).toThrow(/rate must be positive/);
  });
});
