import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/runtime/service.ts';
import { onboard, TestClock } from '../support/chat-journey.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { useRedis } from '../support/redis.ts';
import { startTestService } from '../support/service.ts';
import { TelegramUser, viaPolling } from '../support/telegram-user.ts';

const redisFixture = useRedis();
const TOKEN = '4715:ops-test';
const clock = new TestClock(Date.parse('2026-05-12T05:00:00Z'));
let fake: FakeBotApi;
let service: Service;

beforeAll(async () => {
  fake = await startFakeBotApi({ token: TOKEN });
  ({ service } = await startTestService(
    redisFixture,
    { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: fake.apiRoot, OPS_PORT: '0' },
    clock.read,
  ));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

const ops = (path: string) => fetch(`http://127.0.0.1:${service.opsPort}${path}`);

/** The sum of a metric's samples whose labels contain `labels` (Prometheus text format). */
async function scrape(name: string, labels = ''): Promise<number> {
  const text = await (await ops('/metrics')).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => line.includes(labels))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

describe('health and metrics', () => {
  it('reports healthy with Redis reachable and the queues moving', async () => {
    const res = await ops('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ok: true,
      checks: { redis: 'ok', timers: 'ok', outbox: 'ok', telegram: 'ok' },
    });
    expect((await ops('/nothing')).status).toBe(404);
    // Without ADMIN_TOKEN there is no dashboard, not even a login prompt.
    const admin = await ops('/admin/queues');
    expect(admin.status).toBe(404);
    expect(admin.headers.get('www-authenticate')).toBeNull();
  });

  it('shows the counters moving during a patient’s journey', async () => {
    const before = {
      handled: await scrape('backcoach_events_handled_total', 'kind="choice"'),
      delivered: await scrape('backcoach_messages_delivered_total', 'platform="tg"'),
      lag: await scrape('backcoach_timer_lag_seconds_count'),
    };
    const user = new TelegramUser(fake, 8001, viaPolling(fake));
    await onboard(user);
    await user.act(async () => clock.nextDrillTime(), /Today’s session/);
    const after = {
      handled: await scrape('backcoach_events_handled_total', 'kind="choice"'),
      delivered: await scrape('backcoach_messages_delivered_total', 'platform="tg"'),
      lag: await scrape('backcoach_timer_lag_seconds_count'),
    };
    expect(after.handled - before.handled).toBeGreaterThanOrEqual(25);
    expect(after.delivered - before.delivered).toBeGreaterThanOrEqual(25);
    expect(after.lag - before.lag).toBeGreaterThanOrEqual(1);
    const text = await (await ops('/metrics')).text();
    expect(text).toMatch(/backcoach_queue_jobs\{queue="outbox",state="completed"\} [1-9]/);
    // Labels carry kinds and platforms, never a patient's id or words.
    expect(text).not.toMatch(/\{[^}]*(8001|tg:)[^}]*\}/);
    expect(text).not.toMatch(/How old/);
  });
});
