import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { jobIdOf, QUEUES, type TimerQueueJob, timerJob } from '../../jobs/queues.ts';
import { createTimerWorker } from '../../jobs/timer-worker.ts';
import type { CoachRuntime } from '../../src/runtime/coach-runtime.ts';
import { keysOf } from '../../src/runtime/store.ts';
import { localDate } from '../../src/time/local.ts';
import { duePatient, seedDuePatients } from '../support/fanout.ts';
import { useRedis } from '../support/redis.ts';
import { makeRuntime } from '../support/runtime.ts';

const redisFixture = useRedis();
/** Retries as the service's, but milliseconds apart. */
const retries = { attempts: 3, backoff: { type: 'exponential' as const, delay: 50 } };
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
});

/** The timers queue under `prefix`, and a worker on it stepping with `runtime`; closed after all. */
function timersOn(runtime: CoachRuntime, prefix: string, now: number, concurrency: number) {
  const connection = new Redis(redisFixture.url, { maxRetriesPerRequest: null });
  const queuePrefix = `{${prefix.replace(/[^A-Za-z0-9_-]/g, '')}q}`;
  const queue = new Queue<TimerQueueJob>(QUEUES.timers, { connection, prefix: queuePrefix });
  const worker = createTimerWorker(runtime, {
    connection,
    prefix: queuePrefix,
    concurrency,
    retries,
    clock: () => now,
    log: pino({ level: 'silent' }),
  });
  closers.push(
    () => worker.close(),
    () => queue.obliterate({ force: true }),
    () => queue.close(),
    () => connection.quit(),
  );
  return queue;
}

describe('the timer worker', () => {
  it('runs a batch; a patient whose timer fails goes on as a job of its own, the others are pushed', async () => {
    const prefix = redisFixture.prefix();
    const now = Date.parse('2026-03-02T12:00:00Z');
    const { state } = duePatient(now);
    await seedDuePatients(redisFixture.redis, prefix, state, ['tg:1', 'tg:2', 'tg:3'], now);
    await redisFixture.redis.set(keysOf('tg:2', prefix).state, '{not json');
    const { runtime, ports } = makeRuntime(redisFixture.connect(), prefix, () => now);
    const date = localDate(now, 'UTC');
    const timers = ['tg:1', 'tg:2', 'tg:3'].map((patientId) => ({
      id: jobIdOf('drills_due', patientId, date),
      patientId,
      timer: 'drills_due' as const,
      date,
      at: now,
    }));
    const queue = timersOn(runtime, prefix, now, 2);
    await queue.add('batch', { timers }, { jobId: 'batch|test', removeOnComplete: true });
    const alone = jobIdOf('drills_due', 'tg:2', date);
    await vi.waitFor(async () => expect(await queue.getJobState(alone)).toBe('failed'), { timeout: 10_000 });
    expect(ports.direct).toHaveLength(2);
    expect(ports.sent.map((s) => s.patientId).sort()).toEqual(['tg:1', 'tg:3']);
    const failed = await queue.getJob(alone);
    expect(failed?.data).toEqual({ patientId: 'tg:2', timer: 'drills_due', date, at: now });
    expect(failed?.failedReason).toMatch(/Stored value at .*tg:2.* is invalid/);
    // A record that does not read would fail every retry the same way: it failed at once.
    expect(failed?.opts.attempts).toBe(retries.attempts);
    expect(failed?.attemptsMade).toBe(1);
    // The batch itself finished; it leaves no job naming its patients.
    expect(await queue.getJob('batch|test')).toBeUndefined();
  });

  it('tries a timer that failed again, and the retry performs what the first try left undone', async () => {
    const prefix = redisFixture.prefix();
    const now = Date.parse('2026-03-02T12:00:00Z');
    const { state } = duePatient(now);
    await seedDuePatients(redisFixture.redis, prefix, state, ['tg:1'], now);
    const { runtime, ports } = makeRuntime(redisFixture.connect(), prefix, () => now);
    // The step commits, then its push fails (an outbox that does not answer): the job fails.
    ports.failSends = 1;
    const queue = timersOn(runtime, prefix, now, 1);
    const date = localDate(now, 'UTC');
    const id = jobIdOf('drills_due', 'tg:1', date);
    const job = timerJob({ id, patientId: 'tg:1', timer: 'drills_due', date, at: now }, retries);
    await queue.add(job.name, job.data, job.opts);
    await vi.waitFor(async () => expect(await queue.getJobState(id)).toBe('completed'), { timeout: 10_000 });
    expect((await queue.getJob(id))?.attemptsMade).toBe(2);
    // The retry stepped nothing twice: it performed the first try's push, once, under its key.
    expect(ports.sent).toHaveLength(1);
    expect(ports.sent[0]).toMatchObject({ patientId: 'tg:1', fresh: false });
    expect(ports.sent[0]?.message.text).toMatch(/^Today’s session/);
  });
});
