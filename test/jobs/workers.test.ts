import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QUEUES, type TimerQueueJob } from '../../jobs/queues.ts';
import { dueMember, ScheduleStore } from '../../jobs/schedule-store.ts';
import { Scheduler } from '../../jobs/scheduler.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { duePatient, seedDuePatients } from '../support/fanout.ts';
import { useRedis } from '../support/redis.ts';
import { exited, useWorkerProcesses } from '../support/worker-process.ts';

const redisFixture = useRedis();
const processes = useWorkerProcesses();
let fake: FakeBotApi | undefined;

afterEach(async () => {
  await fake?.stop();
});

const freshPrefix = () => redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '');

const startWorker = (prefix: string, apiRoot: string) =>
  processes.start({ redisUrl: redisFixture.url, prefix, apiRoot });

describe('worker processes', () => {
  it('two workers and schedulers re-upserting deliver each push exactly once, and SIGTERM drains', async () => {
    fake = await startFakeBotApi();
    const prefix = freshPrefix();
    const now = Date.now();
    const { state } = duePatient(now);
    const ids = Array.from({ length: 40 }, (_, i) => `tg:${1000 + i}`);
    const redis = redisFixture.redis;
    await seedDuePatients(redis, `${prefix}:`, state, ids, now);
    const store = new ScheduleStore(redis, `${prefix}:`);
    const timers = processes.queue(
      new Queue<TimerQueueJob>(QUEUES.timers, { connection: redis, prefix: `{${prefix}q}` }),
    );
    const schedulers = [0, 1].map(() => new Scheduler(store, timers, pino({ level: 'silent' })));
    const workers = [startWorker(prefix, fake.apiRoot), startWorker(prefix, fake.apiRoot)];

    // Re-upsert every schedule and make it due, several times over, from two schedulers at once.
    for (let round = 0; round < 5; round++) {
      for (const id of ids) {
        await store.set(id, state.schedule, now);
        await redis.zadd(store.dueKey, now - 1000, dueMember('drills_due', id));
      }
      await Promise.all(schedulers.map((s) => s.tick(Date.now())));
    }
    const sessions = () =>
      fake
        ?.messages()
        .filter((m) => /Today’s session/.test(m.text ?? ''))
        .map((m) => m.chatId) ?? [];
    await vi.waitFor(() => expect(new Set(sessions()).size).toBe(ids.length), {
      timeout: 30_000,
      interval: 200,
    });
    // Give stragglers time to show up, then count: one session per patient, no more.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(sessions()).toHaveLength(ids.length);

    for (const w of workers) w.kill('SIGTERM');
    expect(await Promise.all(workers.map(exited))).toEqual([0, 0]);
  }, 90_000);
});
