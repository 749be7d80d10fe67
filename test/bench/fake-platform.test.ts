import { afterEach, describe, expect, it } from 'vitest';
import { type BenchFake, type FakeProcess, startBenchFake } from '../../bench/fake-platform.ts';

const started: BenchFake[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((fake) => fake.stop()));
});

async function sendMessage(apiRoot: string, chatId: number) {
  const res = await fetch(`${apiRoot}/bot123:bench/sendMessage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ chat_id: chatId, text: 'Your drills for today' }),
  });
  return res.status;
}

describe.each<FakeProcess>(['own', 'shared'])('the benchmark fake Bot API, %s process', (where) => {
  it('answers, counts, and tells each 429 with its chat and time', async () => {
    const fake = await startBenchFake(where, {
      rateLimit: { perSecond: 2, perChatPerSecond: 1, retryAfter: 1 },
      recordMessages: true,
    });
    started.push(fake);
    const before = Date.now();
    // One at a time, so the fake sees them in this order.
    const statuses = [];
    for (const chat of [1, 1, 2, 3]) statuses.push(await sendMessage(fake.apiRoot, chat));
    expect(statuses).toEqual([200, 429, 200, 429]);

    const counts = await fake.counts();
    expect(counts).toMatchObject({ delivered: 2, photos: 0, status429: 2, status429PerChat: 1 });
    expect(counts.firstDeliveryAt).toBeGreaterThanOrEqual(before);
    expect((await fake.perChat()).sort()).toEqual([1, 1]);
    expect((await fake.arrivals()).map((a) => a.chatId)).toEqual(['1', '2']);
    const refusals = await fake.refusals();
    expect(refusals.map(({ chatId, perChat }) => ({ chatId, perChat }))).toEqual([
      { chatId: '1', perChat: true },
      { chatId: '3', perChat: false },
    ]);
    for (const refusal of refusals) expect(refusal.at).toBeGreaterThanOrEqual(before);
    // Its own process's CPU, or none where this process already counts it.
    if (where === 'own') expect(await fake.cpuSeconds()).toBeGreaterThan(0);
    else expect(await fake.cpuSeconds()).toBe(0);
  });

  it('is gone once stopped', async () => {
    const fake = await startBenchFake(where, {});
    await fake.stop();
    await expect(sendMessage(fake.apiRoot, 1)).rejects.toThrow();
    if (where === 'own') await expect(fake.counts()).rejects.toThrow(/exited/);
  });
});
