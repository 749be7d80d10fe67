import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTelegramSender } from '../../adapters/telegram/sender.ts';
import { createDeliveryWorker, Outbox, pacing } from '../../jobs/delivery.ts';
import { type DeliveryJob, QUEUES } from '../../jobs/queues.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { useRedis } from '../support/redis.ts';
import { seeded } from '../support/service.ts';

const redisFixture = useRedis();
let fake: FakeBotApi | undefined;
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await fake?.stop();
});

async function pipeline(behaviour: Parameters<typeof startFakeBotApi>[0]) {
  fake = await startFakeBotApi({ random: seeded(7), ...behaviour });
  const prefix = `{${redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '')}q}`;
  // Workers block on their connection, so BullMQ wants one that never gives up on a request.
  const connection = new Redis(redisFixture.url, { maxRetriesPerRequest: null });
  const queue = new Queue<DeliveryJob>(QUEUES.outbox, { connection, prefix });
  const sender = createTelegramSender({ token: '123:delivery', apiRoot: fake.apiRoot });
  const blocked: string[] = [];
  const worker: Worker<DeliveryJob> = createDeliveryWorker(
    (patientId, message) => sender.send(patientId.slice(3), message),
    {
      connection,
      prefix,
      ratePerSecond: 1000,
      concurrency: 5,
      log: pino({ level: 'silent' }),
      onBlocked: async (patientId) => {
        blocked.push(patientId);
      },
    },
  );
  closers.push(
    () => worker.close(),
    () => queue.obliterate({ force: true }),
    () => queue.close(),
    () => connection.quit(),
  );
  return { queue, outbox: new Outbox(queue), blocked, fake };
}

describe('delivery', () => {
  it('paces the platform rate evenly', () => {
    expect(pacing(30)).toEqual({ max: 1, duration: 34 });
    expect(pacing(1)).toEqual({ max: 1, duration: 1000 });
    expect(pacing(99)).toEqual({ max: 1, duration: 11 });
    expect(pacing(1000)).toEqual({ max: 100, duration: 100 });
    expect(pacing(100_000)).toEqual({ max: 10_000, duration: 100 });
  });

  it('delivers every message once despite 429s with retry_after and 500s', async () => {
    const p = await pipeline({ fail: { status429Rate: 0.15, status500Rate: 0.1, retryAfter: 1 } });
    const total = 30;
    for (let i = 0; i < total; i++)
      await p.outbox.enqueue(`k${i}`, `tg:${100 + i}`, [{ text: `message ${i}` }]);
    await vi.waitFor(() => expect(p.fake.stats.deliveredPerChat.size).toBe(total), {
      timeout: 60_000,
      interval: 100,
    });
    expect(p.fake.stats.delivered).toBe(total);
    expect(p.fake.stats.status429).toBeGreaterThan(0);
    expect(p.fake.stats.status500).toBeGreaterThan(0);
    // retry_after is honoured for the whole queue: nothing was sent while one was running.
    expect(p.fake.stats.sentDuringRetryAfter).toBe(0);
    await vi.waitFor(async () => expect((await p.queue.getJobCounts('completed')).completed).toBe(total));
  }, 90_000);

  it('sends a step’s messages in order, and a retry resumes after the last one accepted', async () => {
    // Every third request fails: each job is cut off in the middle at least once, and never for long.
    let calls = 0;
    const everyThird = () => (++calls % 3 === 0 ? 0 : 0.99);
    const p = await pipeline({ fail: { status500Rate: 0.5 }, random: everyThird });
    const steps = 6;
    for (let s = 0; s < steps; s++) {
      const texts = [1, 2, 3, 4].map((n) => `step ${s} part ${n}`);
      await p.outbox.enqueue(
        `step${s}`,
        `tg:${500 + s}`,
        texts.map((text) => ({ text })),
      );
    }
    await vi.waitFor(async () => expect((await p.queue.getJobCounts('completed')).completed).toBe(steps), {
      timeout: 60_000,
      interval: 100,
    });
    expect(p.fake.stats.status500).toBeGreaterThan(0);
    for (let s = 0; s < steps; s++) {
      const texts = p.fake
        .messages()
        .filter((m) => m.chatId === String(500 + s))
        .map((m) => m.text);
      expect(texts).toEqual([1, 2, 3, 4].map((n) => `step ${s} part ${n}`));
    }
  }, 90_000);

  it('adds a message with the same idempotency key once', async () => {
    const p = await pipeline({});
    for (let i = 0; i < 3; i++) await p.outbox.enqueue('same-key', 'tg:7', [{ text: 'once' }]);
    await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(1));
    await p.outbox.enqueue('same-key', 'tg:7', [{ text: 'once' }]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(p.fake.stats.delivered).toBe(1);
  });

  it('gives up at once on a user who blocked the bot and reports them', async () => {
    const p = await pipeline({ blockedChats: new Set(['9']) });
    await p.outbox.enqueue('b1', 'tg:9', [{ text: 'hello' }]);
    await vi.waitFor(async () => expect((await p.queue.getJobCounts('failed')).failed).toBe(1));
    expect(p.blocked).toEqual(['tg:9']);
    expect(p.fake.stats.status403).toBe(1);
  });
});
