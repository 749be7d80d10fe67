import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { slackDeliver } from '../../adapters/slack/delivery.ts';
import { createSlackSender } from '../../adapters/slack/sender.ts';
import { createDeliveryWorker, Outbox } from '../../jobs/delivery.ts';
import { type DeliveryJob, QUEUES } from '../../jobs/queues.ts';
import type { SendPacer } from '../../jobs/send-pacer.ts';
import { platformPacing } from '../../src/runtime/platform-pacing.ts';
import { QuestionMessages } from '../../src/runtime/question-messages.ts';
import { type FakeSlackApi, startFakeSlackApi } from '../support/fake-slack-api.ts';
import { useRedis } from '../support/redis.ts';

const redisFixture = useRedis();
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function redisMicros(): Promise<number> {
  const [seconds, micros] = await redisFixture.redis.time();
  return Number(seconds) * 1_000_000 + Number(micros);
}

describe('platformPacing', () => {
  it('gives all Telegram chats one pace, and each Slack channel a pace of its own', () => {
    const pacing = platformPacing(redisFixture.redis, 'pace', { telegram: 30, slackPerChannel: 1 });
    const telegram = pacing('tg:1') as SendPacer;
    expect(pacing('tg:2')).toBe(telegram);
    expect(telegram.key).toBe('pace');
    const dm = pacing('sl:T1:U1') as SendPacer;
    expect(pacing('sl:T1:U1')).toBe(dm);
    expect(dm.key).toBe('pace:slack:T1:@U1');
    expect((pacing('sl:T1:U2') as SendPacer).key).toBe('pace:slack:T1:@U2');
    expect((pacing('slc:T1:C7') as SendPacer).key).toBe('pace:slack:T1:C7');
    // A second a message per channel (a little slower), against Telegram's 30 a second overall, of
    // which the pace keeps more than 0.95.
    expect(dm.interval).toBeGreaterThan(1_000_000);
    expect(dm.interval).toBeLessThan(1_000_000 / 0.95);
    expect(telegram.interval).toBeGreaterThan(1_000_000 / 30);
    expect(telegram.interval).toBeLessThan(1_000_000 / (30 * 0.95));
  });

  it("holds a Slack workspace's channels back for a 429's retry-after, not another's, nor Telegram", async () => {
    const pacing = platformPacing(redisFixture.connect(), `${redisFixture.prefix()}pace`, {
      telegram: 1000,
      slackPerChannel: 5,
    });
    const before = await redisMicros();
    await pacing('sl:T1:U1').pause(600);
    const [sameWorkspace, otherWorkspace, telegram] = await Promise.all([
      pacing('slc:T1:C9').slot(),
      pacing('sl:T2:U1').slot(),
      pacing('tg:5').slot(),
    ]).then((slots) => slots.map((slot) => slot.at));
    expect(sameWorkspace).toBeGreaterThanOrEqual(before + 600_000);
    expect(otherWorkspace).toBeLessThan(before + 600_000);
    expect(telegram).toBeLessThan(before + 600_000);
  });

  describe('delivering to Slack', () => {
    let fake: FakeSlackApi;

    async function slackDelivery() {
      fake = await startFakeSlackApi({ perChannelPerSecond: 2 });
      const keyPrefix = redisFixture.prefix();
      const prefix = `{${keyPrefix.replace(/[^A-Za-z0-9_-]/g, '')}q}`;
      const connection = new Redis(redisFixture.url, { maxRetriesPerRequest: null });
      const queue = new Queue<DeliveryJob>(QUEUES.outbox, { connection, prefix });
      const sender = createSlackSender({
        apiUrl: fake.apiUrl,
        tokenFor: async () => 'xoxb-pace',
        redis: connection,
        prefix: keyPrefix,
      });
      const deliver = slackDeliver(
        sender,
        new QuestionMessages(connection, keyPrefix),
        connection,
        keyPrefix,
      );
      const outbox = new Outbox(queue, connection);
      const worker = createDeliveryWorker(deliver, {
        connection,
        prefix,
        pacing: platformPacing(connection, queue.toKey('pace'), { telegram: 1000, slackPerChannel: 2 }),
        concurrency: 10,
        lines: outbox.lines,
        log: pino({ level: 'silent' }),
        onBlocked: async () => undefined,
      });
      closers.push(
        () => fake.stop(),
        () => connection.quit(),
        () => queue.close(),
        () => queue.obliterate({ force: true }),
        () => worker.close(true),
      );
      return outbox;
    }

    it('posts to each channel no faster than Slack takes them: every message in order, no 429', async () => {
      const outbox = await slackDelivery();
      const recipients = ['sl:T1:U1', 'sl:T1:U2', 'slc:T1:C1'];
      for (let i = 1; i <= 3; i++) {
        for (const recipient of recipients) await outbox.enqueue(`m${i}`, recipient, [{ text: `m${i}` }]);
      }
      await vi.waitFor(() => expect(fake.calls('chat.postMessage')).toHaveLength(9), { timeout: 15_000 });
      expect(fake.stats.status429).toBe(0);
      const byChannel = new Map<string, unknown[]>();
      for (const call of fake.calls('chat.postMessage')) {
        const channel = String(call.response.channel);
        byChannel.set(channel, [...(byChannel.get(channel) ?? []), call.payload.text]);
      }
      // Every message once in its own channel, in the order queued: three jobs, one after the other
      // in the channel's line, whichever the worker picks up first.
      expect([...byChannel.values()]).toEqual([
        ['m1', 'm2', 'm3'],
        ['m1', 'm2', 'm3'],
        ['m1', 'm2', 'm3'],
      ]);
    });
  });
});
