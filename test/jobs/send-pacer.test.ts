import { describe, expect, it } from 'vitest';
import { SendPacer } from '../../jobs/send-pacer.ts';
import { useRedis } from '../support/redis.ts';

const redisFixture = useRedis();

async function redisMicros(): Promise<number> {
  const [seconds, micros] = await redisFixture.redis.time();
  return Number(seconds) * 1_000_000 + Number(micros);
}

describe('SendPacer', () => {
  it('hands senders on two connections one slot each, never closer than the interval', async () => {
    const key = `${redisFixture.prefix()}pace`;
    const a = new SendPacer(redisFixture.connect(), key, 200);
    const b = new SendPacer(redisFixture.connect(), key, 200);
    const slots = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).slot()));
    const sorted = [...slots].sort((x, y) => x - y);
    expect(new Set(sorted).size).toBe(40);
    for (let i = 1; i < sorted.length; i++) {
      expect((sorted[i] as number) - (sorted[i - 1] as number)).toBeGreaterThanOrEqual(a.interval);
    }
    // A hair slower than the rate, so a late request cannot make a sliding second count one more.
    expect(a.interval).toBeGreaterThan(1_000_000 / 200);
    expect(a.interval).toBeLessThan(1_000_000 / 195);
  });

  it('gives no slot before a pause is over, to any sender', async () => {
    const key = `${redisFixture.prefix()}pace`;
    const a = new SendPacer(redisFixture.connect(), key, 1000);
    const b = new SendPacer(redisFixture.connect(), key, 1000);
    await a.slot();
    const before = await redisMicros();
    await a.pause(300);
    expect(await b.slot()).toBeGreaterThanOrEqual(before + 300_000);
  });

  it('gives up a slot reserved before a pause this process asked for while it waited', async () => {
    const key = `${redisFixture.prefix()}pace`;
    const pacer = new SendPacer(redisFixture.connect(), key, 50); // a slot every ~20 ms
    await pacer.slot();
    const waiting = pacer.slot(); // holds the next slot, ~20 ms ahead
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
    expect(await pacer.slot()).toBeGreaterThanOrEqual(before + 400_000);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new SendPacer(redisFixture.redis, 'x', 0)).toThrow(/rate must be positive/);
  });
});
