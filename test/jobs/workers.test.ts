import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { QUEUES, type TimerQueueJob } from '../../jobs/queues.ts';
import { dueMember, ScheduleStore } from '../../jobs/schedule-store.ts';
import { Scheduler } from '../../jobs/scheduler.ts';
import type { PatientState } from '../../src/engine/state.ts';
import { keysOf } from '../../src/runtime/store.ts';
import { localDate } from '../../src/time/local.ts';
import { realContent } from '../support/content.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { SimPatient } from '../support/patient.ts';
import { useRedis } from '../support/redis.ts';
import { exited, startWorkerProcess } from '../support/worker-process.ts';

const redisFixture = useRedis();
const children: ChildProcess[] = [];
const queues: Queue[] = [];
let fake: FakeBotApi | undefined;

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await fake?.stop();
});
afterAll(async () => {
  for (const q of queues) await q.obliterate({ force: true }).catch(() => undefined);
  await Promise.all(queues.map((q) => q.close()));
});

const freshPrefix = () => redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '');

function startWorker(prefix: string, apiRoot: string): ChildProcess {
  const child = startWorkerProcess({ redisUrl: redisFixture.url, prefix, apiRoot });
  children.push(child);
  return child;
}

/** An active patient ready for today's push: onboarded through the engine, cloned per chat. */
function activePatients(count: number, now: number): PatientState[] {
  const template = new SimPatient(realContent(), { timezone: 'UTC' }).onboard({ quiet: 'none' })
    .state as PatientState;
  const today = localDate(now, 'UTC');
  return Array.from({ length: count }, (_, i) => ({
    ...structuredClone(template),
    id: `tg:${1000 + i}`,
    lastScreenOn: today,
    lastHeardOn: today,
  }));
}

describe('worker processes', () => {
  it('two workers and schedulers re-upserting deliver each push exactly once, and SIGTERM drains', async () => {
    fake = await startFakeBotApi();
    const prefix = freshPrefix();
    const now = Date.now();
    const patients = activePatients(40, now);
    const redis = redisFixture.redis;
    for (const p of patients) await redis.set(keysOf(p.id, `${prefix}:`).state, JSON.stringify(p));
    const store = new ScheduleStore(redis, `${prefix}:`);
    const timers = new Queue<TimerQueueJob>(QUEUES.timers, { connection: redis, prefix: `{${prefix}q}` });
    queues.push(timers);
    const schedulers = [0, 1].map(() => new Scheduler(store, timers, pino({ level: 'silent' })));
    const workers = [startWorker(prefix, fake.apiRoot), startWorker(prefix, fake.apiRoot)];

    // Re-upsert every schedule and make it due, several times over, from two schedulers at once.
    for (let round = 0; round < 5; round++) {
      for (const p of patients) {
        await store.set(p.id, p.schedule, now);
        await redis.zadd(store.dueKey, now - 1000, dueMember('drills_due', p.id));
      }
      await Promise.all(schedulers.map((s) => s.tick(Date.now())));
    }
    const sessions = () =>
      fake
        ?.messages()
        .filter((m) => /Today’s session/.test(m.text ?? ''))
        .map((m) => m.chatId) ?? [];
    await vi.waitFor(() => expect(new Set(sessions()).size).toBe(patients.length), {
      timeout: 30_000,
      interval: 200,
    });
    // Give stragglers time to show up, then count: one session per patient, no more.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(sessions()).toHaveLength(patients.length);

    for (const w of workers) w.kill('SIGTERM');
    expect(await Promise.all(workers.map(exited))).toEqual([0, 0]);
  }, 90_000);
});
