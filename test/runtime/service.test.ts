import { createServer } from 'node:net';
import { getTasks } from 'node-cron';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { InboundEvent } from '../../src/engine/events.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { type Service, startService, timerBatchesAtOnce } from '../../src/runtime/service.ts';
import { PatientStore } from '../../src/runtime/store.ts';
import { nextWallTime } from '../../src/time/local.ts';
import { realContent } from '../support/content.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { HEALTHY } from '../support/patient.ts';
import { useRedis } from '../support/redis.ts';
import { startTestService } from '../support/service.ts';

const redisFixture = useRedis();
let fake: FakeBotApi;
let service: Service;
let store: PatientStore;
let now = Date.parse('2026-03-26T06:00:00Z');
const patientId = 'tg:4242';
let counter = 0;

beforeAll(async () => {
  fake = await startFakeBotApi();
  const prefix = redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '');
  const config = loadConfig({
    TELEGRAM_BOT_TOKEN: '123:service-test',
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_RATE_PER_SECOND: '1000',
    // The patient answers at once: a chat's gap would hold each reply a second (startTestService).
    TELEGRAM_CHAT_GAP_MS: '0',
    REDIS_PREFIX: prefix,
  });
  service = await startService({
    config,
    content: realContent(),
    redisUrl: redisFixture.url,
    log: pino({ level: 'silent' }),
    clock: () => now,
    tickMs: 20,
    maintenance: false, // node-cron keeps real time, not the test's clock
  });
  store = new PatientStore(redisFixture.redis, { prefix: `${prefix}:` });
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

const send = (payload: Record<string, unknown>) =>
  service.runtime.handle({ id: `t${++counter}`, patientId, localeHint: 'en', ...payload } as InboundEvent);

async function tap(value: string | number) {
  const ask = (await store.load(patientId))?.ask;
  if (!ask) throw new Error(`nothing to answer with ${value}`);
  await send({ kind: 'choice', seq: ask.seq, value: String(value) });
}

const sessionsSent = () =>
  fake.messages().filter((m) => m.chatId === '4242' && /Today’s session/.test(m.text ?? ''));

describe('the service: schedules, timer and delivery workers, the real grammY client', () => {
  it('delivers onboarding through the outbox to the fake Bot API', async () => {
    await send({ kind: 'command', command: 'start', args: '' });
    const a = HEALTHY;
    for (const v of ['yes', ...a.emergency, a.age, ...a.clinician, a.baseline, ...a.startBack]) await tap(v);
    for (const v of [a.sideLeft, a.sideRight, a.stance, 'yes', 'no', 'no', '08:00', 'Europe/Berlin', 'none'])
      await tap(v);
    expect((await store.load(patientId))?.status).toBe('active');
    await vi.waitFor(() => expect(fake.messages().some((m) => /All set!/.test(m.text ?? ''))).toBe(true));
    const question = fake.messages().find((m) => /How old are you/.test(m.text ?? ''));
    expect(JSON.stringify(question?.replyMarkup)).toContain('callback_data');
  });

  it('pushes one session per local day at 08:00 Berlin across the spring-forward weekend', async () => {
    for (let day = 1; day <= 5; day++) {
      now = nextWallTime(now, '08:00', 'Europe/Berlin') + 1000;
      await vi.waitFor(() => expect(sessionsSent()).toHaveLength(day), { timeout: 10_000 });
      const state = await store.load(patientId);
      if (state?.ask?.q === 'recheck') for (let i = 0; i < 3; i++) await tap('no');
      await tap('done');
      await tap(3);
      await tap('about_right');
      await tap('none');
      // Later the same day the scheduler runs again: nothing more is pushed.
      now += 3 * 3600_000;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(sessionsSent()).toHaveLength(day);
    }
    const days = (await store.load(patientId))?.days.filter((d) => d.session).map((d) => d.date);
    expect(days).toEqual(['2026-03-26', '2026-03-27', '2026-03-28', '2026-03-29', '2026-03-30']);
  });

  it('snoozes through the schedule store and brings the session back an hour later', async () => {
    now = nextWallTime(now, '08:00', 'Europe/Berlin') + 1000;
    await vi.waitFor(() => expect(sessionsSent()).toHaveLength(6), { timeout: 10_000 });
    const state = await store.load(patientId);
    if (state?.ask?.q === 'recheck') for (let i = 0; i < 3; i++) await tap('no');
    const before = sessionsSent().length;
    await tap('snooze');
    now += 3600_000 + 1000;
    await vi.waitFor(() => expect(sessionsSent().length).toBe(before + 1), { timeout: 10_000 });
  });
});

describe('timer batches at once', () => {
  it('are one per step thread and two more: one at Redis, one sending', () => {
    expect([0, 1, 3].map(timerBatchesAtOnce)).toEqual([2, 3, 5]);
  });
});

describe('a start-up that fails part-way', () => {
  it('closes what it had opened: no connection of it or of its workers, no maintenance task, is left', async () => {
    // The ops server is the last thing start-up opens; a port already taken fails it there.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const { port } = taken.address() as { port: number };
    const prefix = `${redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '')}half`;
    const tasksBefore = getTasks().size;
    try {
      const starting = startService({
        config: loadConfig({ REDIS_PREFIX: prefix, OPS_PORT: String(port), ROLES: 'bot,worker,scheduler' }),
        content: realContent(),
        redisUrl: redisFixture.url,
        log: pino({ level: 'silent' }),
      });
      await expect(starting).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
    // Its own connections are named backcoach:<prefix>, BullMQ's workers' {<prefix>q}:<queue>.
    const clients = String(await redisFixture.redis.client('LIST')).split('\n');
    expect(clients.filter((line) => / name=\S*(backcoach:|\{)/.test(line) && line.includes(prefix))).toEqual(
      [],
    );
    // The maintenance sweeps and digests were scheduled, and are gone again.
    expect(getTasks().size).toBe(tasksBefore);
  });

  it('schedules its maintenance on node-cron with the scheduler role, unless told not to', async () => {
    const prefix = `${redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '')}cron`;
    const start = (maintenance?: boolean) =>
      startService({
        config: loadConfig({ REDIS_PREFIX: prefix, ROLES: 'scheduler' }),
        content: realContent(),
        redisUrl: redisFixture.url,
        log: pino({ level: 'silent' }),
        ...(maintenance === undefined ? {} : { maintenance }),
      });
    const before = new Set(getTasks().keys());
    const added = () =>
      [...getTasks()]
        .filter(([id]) => !before.has(id))
        .map(([, task]) => task.name)
        .sort();
    const usual = await start();
    expect(added()).toEqual(['coach-digests', 'repair-schedules', 'replay-pending']);
    await usual.stop();
    expect(added()).toEqual([]);
    const ownClock = await start(false);
    expect(added()).toEqual([]);
    await ownClock.stop();
  });
});

describe('a Telegram chat’s gap, through the whole service', () => {
  it.each([
    ['on the main thread', '0'],
    ['from the send thread', '1'],
  ])(
    'holds the reply to a tap made at once until the gap after the question, %s: no 429 from a strict chat',
    async (_, sendThreads) => {
      const strict = await startFakeBotApi({
        rateLimit: { perSecond: 1000, perChatPerSecond: 1, retryAfter: 1 },
      });
      const { service: gapped, store: stored } = await startTestService(redisFixture, {
        TELEGRAM_BOT_TOKEN: '123:gap-test',
        TELEGRAM_API_ROOT: strict.apiRoot,
        TELEGRAM_CHAT_GAP_MS: '1000',
        SEND_THREADS: sendThreads,
      });
      try {
        const id = 'tg:4343';
        const handle = (payload: Record<string, unknown>) =>
          gapped.runtime.handle({
            id: `g${++counter}`,
            patientId: id,
            localeHint: 'en',
            ...payload,
          } as InboundEvent);
        await handle({ kind: 'command', command: 'start', args: '' });
        // The tap comes as soon as the question is there, as no one could tap it sooner.
        await vi.waitFor(
          () => expect(strict.messages().some((m) => m.replyMarkup !== undefined)).toBe(true),
          {
            timeout: 10_000,
          },
        );
        // An edit closing the answered question's buttons is not a message, and it may come first:
        // wait for the reply itself.
        const sent = () =>
          strict
            .messages()
            .filter((m) => m.method === 'sendMessage')
            .map((m) => m.at);
        const before = sent().length;
        const ask = (await stored.load(id))?.ask;
        await handle({ kind: 'choice', seq: ask?.seq, value: 'yes' });
        await vi.waitFor(() => expect(sent().length).toBeGreaterThan(before), { timeout: 10_000 });
        expect(strict.stats.status429).toBe(0);
        // Every message the chat got, the reply too, came a second after the one before it.
        const at = sent();
        expect(before).toBeGreaterThan(1);
        for (const [i, t] of at.slice(1).entries())
          expect(t - (at[i] as number)).toBeGreaterThanOrEqual(1000);
      } finally {
        await gapped.stop();
        await strict.stop();
      }
    },
    30_000,
  );
});
