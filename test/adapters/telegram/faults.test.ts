import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ScheduleStore } from '../../../jobs/schedule-store.ts';
import type { Service } from '../../../src/runtime/service.ts';
import type { PatientStore } from '../../../src/runtime/store.ts';
import { onboard, TestClock } from '../../support/chat-journey.ts';
import { type FakeBotApi, startFakeBotApi } from '../../support/fake-bot-api.ts';
import { useRedis } from '../../support/redis.ts';
import { seeded, startTestService } from '../../support/service.ts';
import { TelegramUser, viaPolling } from '../../support/telegram-user.ts';

const redisFixture = useRedis();
const TOKEN = '4713:faults-test';
const clock = new TestClock(Date.parse('2026-05-04T05:00:00Z'));
let fake: FakeBotApi;
let service: Service;
let store: PatientStore;
let schedules: ScheduleStore;

beforeAll(async () => {
  fake = await startFakeBotApi({ token: TOKEN, random: seeded(11) });
  let prefix: string;
  ({ service, store, prefix } = await startTestService(
    redisFixture,
    {
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.apiRoot,
    },
    clock.read,
  ));
  schedules = new ScheduleStore(redisFixture.redis, `${prefix}:`);
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

describe('Telegram faults: 429 with retry_after, 500, and a user who blocked the bot', () => {
  const user = () => new TelegramUser(fake, 7001, viaPolling(fake));

  it('retries after the wait on 429 and retries on 500, and every reply arrives once', async () => {
    await onboard(user());
    fake.setBehaviour({
      fail: { status429Rate: 0.25, status500Rate: 0.15, retryAfter: 1, methods: ['sendMessage'] },
    });
    const asked = 8;
    for (let i = 0; i < asked; i++) await user().say('/help', /What I can do/);
    fake.setBehaviour({ fail: undefined });
    expect(fake.stats.status429).toBeGreaterThan(0);
    expect(fake.stats.status500).toBeGreaterThan(0);
    // Nothing went out while a retry_after was running, and nothing was sent twice.
    expect(fake.stats.sentDuringRetryAfter).toBe(0);
    expect(
      user()
        .texts()
        .filter((t) => t.startsWith('What I can do')),
    ).toHaveLength(asked);
  }, 90_000);

  it('marks a patient who blocked the bot unreachable, stops their pushes, and resumes when they return', async () => {
    expect(await schedules.membersOf('tg:7001')).not.toEqual([]);
    fake.setBehaviour({ blockedChats: new Set(['7001']) });
    clock.nextDrillTime();
    // The first push after onboarding (07:00) is at 08:00 the same day.
    await vi.waitFor(async () => expect((await store.load('tg:7001'))?.unreachableSince).toBe('2026-05-04'), {
      timeout: 15_000,
    });
    expect(fake.stats.status403).toBeGreaterThan(0);
    // The schedule goes by the step's effect, performed after the state is committed.
    await vi.waitFor(async () => expect(await schedules.membersOf('tg:7001')).toEqual([]), {
      timeout: 15_000,
    });
    const audit = await store.auditLog('tg:7001');
    expect(audit.at(-1)).toMatchObject({ kind: 'status', detail: { reachable: false } });

    // They unblock the bot: Telegram says so, and the next day's push comes again.
    fake.setBehaviour({ blockedChats: undefined });
    await user().push({
      my_chat_member: {
        chat: user().chat,
        from: user().from,
        date: Math.floor(clock.now / 1000),
        old_chat_member: {
          status: 'kicked',
          user: { id: 4713, is_bot: true, first_name: 'Backcoach' },
          until_date: 0,
        },
        new_chat_member: { status: 'member', user: { id: 4713, is_bot: true, first_name: 'Backcoach' } },
      },
    });
    await vi.waitFor(async () => expect((await store.load('tg:7001'))?.unreachableSince).toBeUndefined());
    await user().act(async () => clock.nextDrillTime(), /Today’s session/);
  }, 60_000);
});
