import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/runtime/logger.ts';
import type { Service } from '../../src/runtime/service.ts';
import { day, onboard, TestClock } from '../support/chat-journey.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { useRedis } from '../support/redis.ts';
import { startTestService } from '../support/service.ts';
import { TelegramUser, viaPolling } from '../support/telegram-user.ts';

const redisFixture = useRedis();
const TOKEN = '4716:logs-secret-token';
const clock = new TestClock(Date.parse('2026-05-19T05:00:00Z'));
const lines: string[] = [];
let fake: FakeBotApi;
let service: Service;

beforeAll(async () => {
  fake = await startFakeBotApi({ token: TOKEN });
  ({ service } = await startTestService(
    redisFixture,
    { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: fake.apiRoot, COACHES: 'tg:950' },
    clock.read,
    undefined,
    // Everything, down to debug, as an operator could switch it on.
    createLogger('trace', { write: (line: string) => lines.push(line) }),
  ));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

describe('logs', () => {
  it('carry ids and kinds, never message text, pain values, names or secrets', async () => {
    const user = new TelegramUser(fake, 8101, viaPolling(fake));
    await onboard(user);
    await day(user, clock, { pain: 9, difficulty: 'too_hard', painDuring: 'severe' });
    await user.say('My back really hurts after gardening', /.+/);
    // A platform fault and a blocked user make the error paths log too.
    fake.setBehaviour({ fail: { status500Rate: 1, methods: ['sendMessage'] } });
    await user.push(user.messageUpdate('/help'));
    await vi.waitFor(() => expect(lines.some((l) => l.includes('delivery failed'))).toBe(true), {
      timeout: 10_000,
    });
    fake.setBehaviour({ fail: undefined, blockedChats: new Set(['8101']) });
    await user.push(user.messageUpdate('/today'));
    await vi.waitFor(() => expect(lines.some((l) => l.includes('user blocked the bot'))).toBe(true), {
      timeout: 10_000,
    });

    expect(lines.length).toBeGreaterThan(20);
    const all = lines.join('\n');
    const sent = [
      ...new Set(
        user
          .texts()
          .flatMap((t) => t.split('\n'))
          .filter((t) => t.length > 12),
      ),
    ];
    for (const text of [...sent, 'gardening', 'Pat', TOKEN, 'logs-secret-token']) {
      expect(all, `logs contain ${JSON.stringify(text)}`).not.toContain(text);
    }
    expect(all).not.toMatch(/"pain(Today|During|_during)?":\s*"?\d/);
    expect(all).not.toMatch(/"text":/);
  });
});
