import { Queue } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Outbox } from '../../jobs/delivery.ts';
import { type DeliveryJob, QUEUES, type TimerQueueJob } from '../../jobs/queues.ts';
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

/**
 * Starts a worker process, SIGKILLs it once a quarter of `total` chats got their message, starts
 * another and waits until every chat got one; the second process is left running.
 */
async function killAQuarterIn(opts: { prefix: string; total: number; concurrency: number; roles?: string }) {
  const worker = () =>
    processes.start({
      redisUrl: redisFixture.url,
      prefix: opts.prefix,
      apiRoot: (fake as FakeBotApi).apiRoot,
      env: {
        DELIVERY_CONCURRENCY: String(opts.concurrency),
        JOB_LOCK_SECONDS: '2',
        ...(opts.roles ? { ROLES: opts.roles } : {}),
      },
    });
  const first = worker();
  await vi.waitFor(() => expect(fake?.stats.delivered).toBeGreaterThan(opts.total / 4), {
    timeout: 60_000,
    interval: 50,
  });
  first.kill('SIGKILL');
  await exited(first);
  const deliveredAtKill = (fake as FakeBotApi).stats.delivered;
  expect(deliveredAtKill).toBeLessThan(opts.total);
  const second = worker();
  await vi.waitFor(() => expect(fake?.stats.deliveredPerChat.size).toBe(opts.total), {
    timeout: 120_000,
    interval: 200,
  });
  return { deliveredAtKill, second };
}

describe('a worker killed mid-delivery', () => {
  it('a worker SIGKILLed while delivering 10,000 pushes: after a restart every push is delivered, duplicates ≤ concurrency', async () => {
    fake = await startFakeBotApi({ recordMessages: false });
    const prefix = redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '');
    const outboxQueue = processes.queue(
      new Queue<DeliveryJob>(QUEUES.outbox, { connection: redisFixture.redis, prefix: `{${prefix}q}` }),
    );
    const outbox = new Outbox(outboxQueue, redisFixture.redis);
    const total = 10_000;
    const concurrency = 20;
    for (let start = 0; start < total; start += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          outbox.enqueue(`push-${start + i}`, `tg:${start + i}`, [{ text: `Today’s session #${start + i}` }]),
        ),
      );
    }
    const { deliveredAtKill, second } = await killAQuarterIn({ prefix, total, concurrency });
    await vi.waitFor(
      async () => expect((await outboxQueue.getJobCounts('completed')).completed).toBe(total),
      {
        timeout: 30_000,
      },
    );
    const duplicates = fake.stats.delivered - total;
    console.log(
      `worker SIGKILL: ${total} pushes, ${deliveredAtKill} delivered before the kill, ` +
        `${fake.stats.deliveredPerChat.size} chats reached after the restart (${total - fake.stats.deliveredPerChat.size} lost), ` +
        `${fake.stats.delivered} sendMessage calls answered ok, ${duplicates} duplicates, concurrency ${concurrency}`,
    );
    expect(duplicates).toBeGreaterThanOrEqual(0);
    expect(duplicates).toBeLessThanOrEqual(concurrency);
    second.kill('SIGTERM');
    expect(await exited(second)).toBe(0);
  }, 240_000);

  it('a worker SIGKILLed mid-fan-out of 10,000 patients due at once: after a restart each gets their push, duplicates ≤ concurrency', async () => {
    fake = await startFakeBotApi({ recordMessages: false });
    const prefix = redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '');
    const timers = processes.queue(
      new Queue<TimerQueueJob>(QUEUES.timers, { connection: redisFixture.redis, prefix: `{${prefix}q}` }),
    );
    const now = Date.now();
    // A zone where it is around noon, so the pushes' local day cannot end during the test.
    const offset = 12 - new Date(now).getUTCHours();
    const zone = offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
    const { state } = duePatient(now, zone);
    const total = 10_000;
    const concurrency = 20;
    const ids = Array.from({ length: total }, (_, i) => `tg:${i + 1}`);
    await seedDuePatients(redisFixture.redis, `${prefix}:`, state, ids, now);
    // Scheduler and worker: the pushes go from the timer batches straight to the platform.
    const { deliveredAtKill, second } = await killAQuarterIn({
      prefix,
      total,
      concurrency,
      roles: 'worker,scheduler',
    });
    // Every batch done, the killed one's included: nothing left that could send again.
    await vi.waitFor(
      async () => {
        const left = await timers.getJobCounts('waiting', 'active', 'delayed', 'failed');
        expect(left).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
      },
      { timeout: 30_000, interval: 200 },
    );
    const duplicates = fake.stats.delivered - total;
    console.log(
      `worker SIGKILL mid-fan-out: ${total} patients due, ${deliveredAtKill} pushes delivered before the kill, ` +
        `${fake.stats.deliveredPerChat.size} patients reached after the restart, ${duplicates} duplicates, concurrency ${concurrency}`,
    );
    expect(duplicates).toBeGreaterThanOrEqual(0);
    expect(duplicates).toBeLessThanOrEqual(concurrency);
    second.kill('SIGTERM');
    expect(await exited(second)).toBe(0);
  }, 240_000);
});
