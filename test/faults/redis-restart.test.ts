import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/runtime/config.ts';
import { type PrivateRedis, startPrivateRedis } from '../../src/runtime/redis-server.ts';
import { type Service, startService } from '../../src/runtime/service.ts';
import { PatientStore } from '../../src/runtime/store.ts';
import { day, onboard, TestClock } from '../support/chat-journey.ts';
import { realContent } from '../support/content.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { TelegramUser, viaPolling } from '../support/telegram-user.ts';

const TOKEN = '4718:restart-test';
const clock = new TestClock(Date.parse('2026-06-09T05:00:00Z'));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe('Redis restarted mid-stream (AOF, fsync always)', () => {
  it('loses no check-in the patient was told was saved, and the service carries on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backcoach-restart-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const options = { appendOnly: true, fsyncAlways: true, dir };
    let redis: PrivateRedis = await startPrivateRedis(options);
    cleanups.push(() => redis.stop());
    const fake: FakeBotApi = await startFakeBotApi({ token: TOKEN });
    cleanups.push(() => fake.stop());
    const service: Service = await startService({
      config: loadConfig({
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: fake.apiRoot,
        TELEGRAM_RATE_PER_SECOND: '1000',
      }),
      content: realContent(),
      redisUrl: redis.url,
      log: pino({ level: 'silent' }),
      clock: clock.read,
      tickMs: 20,
      maintenance: false, // node-cron keeps real time, not the test's clock
    });
    cleanups.push(() => service.stop());

    const user = new TelegramUser(fake, 8301, viaPolling(fake));
    await onboard(user);
    const saved = await day(user, clock, { pain: 5, difficulty: 'about_right', painDuring: 'mild' });
    expect(saved).toMatch(/Thanks for checking in/);

    // The patient has been told; now the server dies without a chance to write anything more.
    await redis.kill();
    redis = await startPrivateRedis({ ...options, port: redis.port });

    const check = new Redis(redis.url);
    cleanups.push(() => check.quit());
    const state = await new PatientStore(check).load('tg:8301');
    expect(state?.days.at(-1)).toMatchObject({ outcome: 'done', pain: 5, painDuring: 'mild' });

    // Clients reconnect by themselves: the next day is pushed and answered as usual.
    await vi.waitFor(async () => expect(await check.ping()).toBe('PONG'));
    const next = await day(user, clock, { pain: 4, difficulty: 'about_right', painDuring: 'none' });
    expect(next).toMatch(/Thanks for checking in/);
    const pains = (await new PatientStore(check).load('tg:8301'))?.days.map((d) => d.pain);
    const thanks = user.texts().filter((t) => /Thanks for checking in/.test(t)).length;
    console.log(
      `Redis SIGKILLed once after a confirmed check-in (AOF, fsync always): ${state?.days.length ?? 0} of 1 ` +
        `confirmed check-ins survived the restart, ${pains?.length ?? 0} days recorded after the next day’s check-in ` +
        `(pain ${pains?.join(', ')}), ${thanks} check-in confirmations sent for 2 check-ins`,
    );
    expect(pains).toEqual([5, 4]);
  });
});
