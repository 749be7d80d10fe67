import { createServer } from 'node:http';
import { Bot } from 'grammy';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhook } from '../../../adapters/telegram/bot.ts';
import { listen } from '../../../src/runtime/http-listen.ts';
import { decodeRecord } from '../../../src/runtime/record-codec.ts';
import type { Service } from '../../../src/runtime/service.ts';
import type { PatientStore } from '../../../src/runtime/store.ts';
import { journey, TestClock } from '../../support/chat-journey.ts';
import { type FakeBotApi, startFakeBotApi } from '../../support/fake-bot-api.ts';
import { useRedis } from '../../support/redis.ts';
import { startTestService } from '../../support/service.ts';
import { TelegramUser, viaWebhook } from '../../support/telegram-user.ts';

const redisFixture = useRedis();
const TOKEN = '4712:webhook-test';
const SECRET = 'a-webhook-secret_42';
const PUBLIC_URL = 'https://coach.example.org/telegram/hook';
const clock = new TestClock(Date.parse('2026-10-19T05:00:00Z'));
let fake: FakeBotApi;
let service: Service;
let store: PatientStore;

const hookUrl = () => `http://127.0.0.1:${service.webhookPort}/telegram/hook`;
const webhook = viaWebhook(hookUrl, SECRET);

beforeAll(async () => {
  fake = await startFakeBotApi({ token: TOKEN });
  ({ service, store } = await startTestService(
    redisFixture,
    {
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_WEBHOOK_URL: PUBLIC_URL,
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      TELEGRAM_WEBHOOK_PORT: '0',
    },
    clock.read,
  ));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

describe('Telegram by webhook, through the real grammY client', () => {
  it('registers the webhook with its secret token and no polling', () => {
    expect(fake.calls('setWebhook').map((c) => c.payload)).toEqual([
      expect.objectContaining({ url: PUBLIC_URL, secret_token: SECRET }),
    ]);
    expect(fake.stats.requests.get('getUpdates')).toBeUndefined();
  });

  it('refuses a request without the secret token, or with a wrong one, with 401, and changes nothing', async () => {
    const user = new TelegramUser(fake, 6001, webhook);
    const start = user.messageUpdate('/start');
    const refused: Record<string, string>[] = [{}, { 'x-telegram-bot-api-secret-token': 'guess' }];
    for (const headers of refused) {
      const res = await webhook.post({ ...start, update_id: 900 }, headers);
      expect(res.status).toBe(401);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await store.load('tg:6001')).toBeNull();
    expect(user.sent()).toEqual([]);
  });

  it('handles the same update id delivered twice once', async () => {
    const user = new TelegramUser(fake, 6002, webhook);
    const update = { ...user.messageUpdate('/start'), update_id: 901 };
    await user.act(() => user.push(update));
    const afterFirst = user.sent().length;
    const again = await webhook.post(update, { 'x-telegram-bot-api-secret-token': SECRET });
    expect(again.status).toBe(200);
    // A later update's answer is the sign that the repeat, posted before it, has been handled.
    await user.say('/help', /What I can do/);
    expect(user.sent()).toHaveLength(afterFirst + 1);
    // Two distinct updates remembered, the repeat not a third.
    const record = await redisFixture.redis.getBuffer(store.keysOf('tg:6002').state);
    expect(record && decodeRecord(record).seen.size).toBe(2);
  });

  it('coaches a patient through onboarding, a breakthrough and a setback', async () => {
    const user = new TelegramUser(fake, 6003, webhook);
    await journey(user, clock);
    const state = await store.load('tg:6003');
    expect(state?.days.map((d) => d.decision)).toEqual(['hold', 'hold', 'breakthrough', 'setback']);
    expect(state?.coachCode).toBe('COACH-7');
  });
});

describe('a webhook Telegram refuses', () => {
  it('stops start-up with the error and leaves the port free', async () => {
    const refusing = await startFakeBotApi({
      token: TOKEN,
      fail: { status500Rate: 1, methods: ['setWebhook'] },
    });
    try {
      const probe = createServer();
      const { port, stop } = await listen(probe, 0, '127.0.0.1');
      await stop();
      const bot = new Bot(TOKEN, { client: { apiRoot: refusing.apiRoot } });
      const opts = { url: PUBLIC_URL, secret: SECRET, port, host: '127.0.0.1' };
      await expect(startWebhook(bot, opts, pino({ level: 'silent' }))).rejects.toThrow(/setWebhook/);
      // Bound again at once: the refused start-up released it.
      await (await listen(createServer(), port, '127.0.0.1')).stop();
    } finally {
      await refusing.stop();
    }
  });
});
