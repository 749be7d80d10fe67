import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Service } from '../../src/runtime/service.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { useRedis } from '../support/redis.ts';
import { seeded, startTestService } from '../support/service.ts';

const redisFixture = useRedis();
const TOKEN = '4719:platform-faults';
const PATIENTS = 200;
let fake: FakeBotApi;
let service: Service;

beforeAll(async () => {
  fake = await startFakeBotApi({ token: TOKEN, random: seeded(23) });
  ({ service } = await startTestService(redisFixture, {
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: fake.apiRoot,
    ROLES: 'worker',
  }));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

describe('the platform answering 429 (10 %), 500 (5 %) and not at all (1 %)', () => {
  it('still delivers every message exactly once, and sends nothing while a retry_after runs', async () => {
    fake.setBehaviour({
      fail: {
        status429Rate: 0.1,
        status500Rate: 0.05,
        timeoutRate: 0.01,
        retryAfter: 1,
        methods: ['sendMessage'],
      },
    });
    for (let i = 0; i < PATIENTS; i++) {
      await service.runtime.handle({
        id: `help-${i}`,
        patientId: `tg:${9000 + i}`,
        kind: 'command',
        command: 'help',
        args: '',
      });
    }
    await vi.waitFor(() => expect(fake.stats.deliveredPerChat.size).toBe(PATIENTS), {
      timeout: 240_000,
      interval: 250,
    });
    expect([...fake.stats.deliveredPerChat.values()].every((n) => n === 1)).toBe(true);
    expect(fake.stats.status429).toBeGreaterThan(0);
    expect(fake.stats.status500).toBeGreaterThan(0);
    expect(fake.stats.timeouts).toBeGreaterThan(0);
    expect(fake.stats.sentDuringRetryAfter).toBe(0);
    console.log(
      `faults injected: ${fake.stats.status429} × 429, ${fake.stats.status500} × 500, ${fake.stats.timeouts} timeouts; ` +
        `${fake.stats.delivered} delivered to ${PATIENTS} chats: ` +
        `${PATIENTS - fake.stats.deliveredPerChat.size} lost, ${fake.stats.delivered - fake.stats.deliveredPerChat.size} duplicates, ` +
        `${fake.stats.sentDuringRetryAfter} sent during a retry_after`,
    );
  }, 300_000);
});
