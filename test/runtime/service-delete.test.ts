import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DeliveryJob, QUEUES, type TimerQueueJob, timersOf } from '../../jobs/queues.ts';
import { ScheduleStore } from '../../jobs/schedule-store.ts';
import type { Service } from '../../src/runtime/service.ts';
import { onboard, TestClock } from '../support/chat-journey.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { useRedis } from '../support/redis.ts';
import { startTestService } from '../support/service.ts';
import { TelegramUser, viaPolling } from '../support/telegram-user.ts';

const redisFixture = useRedis();
const TOKEN = '4717:delete-test';
const clock = new TestClock(Date.parse('2026-06-02T05:00:00Z'));
let fake: FakeBotApi;
let service: Service;
let prefix: string;

beforeAll(async () => {
  fake = await startFakeBotApi({ token: TOKEN });
  ({ service, prefix } = await startTestService(
    redisFixture,
    {
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.apiRoot,
      COACHES: 'tg:960',
      // A chat's gap on (short, as this patient answers at once): its mark names the chat until it runs out.
      TELEGRAM_CHAT_GAP_MS: '50',
    },
    clock.read,
  ));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

async function keysMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redisFixture.redis.scan(cursor, 'MATCH', `*${text}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

describe('/delete', () => {
  it('leaves no key, schedule, roster entry or kept message of the patient, only the goodbye', async () => {
    const coach = new TelegramUser(fake, 960, viaPolling(fake));
    const invite = await coach.say('/coach code', /invite code/);
    const code = /start=(\S+)/.exec(invite.at(-1)?.text ?? '')?.[1] ?? '';
    const patient = new TelegramUser(fake, 8201, viaPolling(fake));
    await onboard(patient, `/start ${code}`);
    await patient.act(async () => clock.nextDrillTime(), /Today’s session/);
    await patient.tap('snooze', /remind you in an hour/);
    expect(await keysMentioning('tg:8201')).not.toEqual([]);

    await patient.say('/delete');
    await patient.tap('yes', /Everything is deleted/);

    // The goodbye can arrive a moment before the step has cleared what lives outside the patient's
    // keys, and its chat's mark lasts the gap after it.
    await vi.waitFor(async () => expect(await keysMentioning('tg:8201')).toEqual([]));
    const schedules = new ScheduleStore(redisFixture.redis, `${prefix}:`);
    expect(await schedules.membersOf('tg:8201')).toEqual([]);
    expect((await coach.say('/coach patients', /roster/)).at(-1)?.text).toMatch(/Nobody is on your roster/);

    const connection = new Redis(redisFixture.url, { maxRetriesPerRequest: null });
    const outbox = new Queue<DeliveryJob>(QUEUES.outbox, { connection, prefix: `{${prefix}q}` });
    const timers = new Queue<TimerQueueJob>(QUEUES.timers, { connection, prefix: `{${prefix}q}` });
    try {
      const states = ['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized'] as const;
      const kept = (await outbox.getJobs([...states])).filter((j) => j.data.patientId === 'tg:8201');
      expect(kept.map((j) => j.data.messages.map((m) => m.text).join(' '))).toEqual([
        expect.stringMatching(/^Everything is deleted/),
      ]);
      // Job ids lead with the recipient (URI-encoded): only the goodbye's job and its idempotency key.
      const goodbye = kept[0]?.id ?? '(none)';
      const queueKeys = await keysMentioning(encodeURIComponent('tg:8201'));
      expect(queueKeys.length).toBeGreaterThan(0);
      expect(queueKeys.filter((key) => !key.includes(goodbye))).toEqual([]);
      const queuedTimers = (await timers.getJobs(['waiting', 'delayed', 'prioritized'])).filter((j) =>
        timersOf(j.data, j.id).some((t) => t.patientId === 'tg:8201'),
      );
      expect(queuedTimers).toEqual([]);
    } finally {
      await outbox.close();
      await timers.close();
      await connection.quit();
    }
  });
});
