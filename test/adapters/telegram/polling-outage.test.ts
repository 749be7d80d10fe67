import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/runtime/logger.ts';
import type { Service } from '../../../src/runtime/service.ts';
import { type FakeBotApi, startFakeBotApi } from '../../support/fake-bot-api.ts';
import { useRedis } from '../../support/redis.ts';
import { startTestService } from '../../support/service.ts';
import { TelegramUser, viaPolling } from '../../support/telegram-user.ts';

const redisFixture = useRedis();
const TOKEN = '4712:outage-test-secret';
const lines: string[] = [];
let fake: FakeBotApi;
let service: Service;

beforeAll(async () => {
  fake = await startFakeBotApi({ token: TOKEN });
  // The service's own logger, so the test sees what an operator's log would hold.
  const log = createLogger('warn', { write: (line: string) => lines.push(line) });
  ({ service } = await startTestService(
    redisFixture,
    { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: fake.apiRoot, OPS_PORT: '0' },
    undefined,
    undefined,
    log,
  ));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

describe('Telegram by long polling when the Bot API cannot be reached', () => {
  it('logs each failed fetch without the token, keeps trying, and answers once the API is back', async () => {
    const user = new TelegramUser(fake, 77, viaPolling(fake));
    await vi.waitFor(() => expect(fake.stats.requests.get('getUpdates')).toBeGreaterThan(0));
    // Every getUpdates from here on loses its connection; the update releases the poll in flight.
    fake.setBehaviour({ fail: { dropRate: 1, methods: ['getUpdates'] } });
    await user.say('/start', /Backcoach/);
    await vi.waitFor(() => expect(lines.some((l) => l.includes('fetching updates failed'))).toBe(true), {
      timeout: 20_000,
    });
    expect(fake.stats.dropped).toBeGreaterThanOrEqual(3);

    fake.setBehaviour({ fail: { methods: [] } });
    const before = user.sent().length;
    await user.say('/help', /./);
    expect(user.sent().length).toBeGreaterThan(before);
    expect(lines.join('\n')).not.toContain(TOKEN);
    expect(lines.join('\n')).not.toContain(TOKEN.split(':')[1]);
  }, 40_000);

  it('says so in the log and at /healthz when polling stops for good (a revoked token)', async () => {
    const health = async () => (await fetch(`http://127.0.0.1:${service.opsPort}/healthz`)).json();
    expect(await health()).toMatchObject({ checks: { telegram: 'ok' } });
    fake.setBehaviour({ revoked: true });
    await vi.waitFor(() => expect(lines.some((l) => l.includes('long polling stopped'))).toBe(true), {
      timeout: 20_000,
    });
    expect(await health()).toMatchObject({
      ok: false,
      checks: { telegram: expect.stringMatching(/^long polling stopped: .*401/) },
    });
    expect(lines.join('\n')).not.toContain(TOKEN.split(':')[1]);
  }, 40_000);
});
