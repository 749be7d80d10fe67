import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { createTelegramSender } from '../../adapters/telegram/sender.ts';
import { createDeliveryWorker, type Deliver, Outbox } from '../../jobs/delivery.ts';
import { startScheduleRepair } from '../../jobs/maintenance.ts';
import { type DeliveryJob, QUEUES, type TimerJob } from '../../jobs/queues.ts';
import { ScheduleStore } from '../../jobs/schedule-store.ts';
import { runScheduler, Scheduler } from '../../jobs/scheduler.ts';
import { createTimerWorker } from '../../jobs/timer-worker.ts';
import type { Content } from '../content/content.ts';
import { CoachRuntime, type EffectPorts } from './coach-runtime.ts';
import type { Config } from './config.ts';
import { PatientStore } from './store.ts';

export interface Service {
  runtime: CoachRuntime;
  /** Stops taking work, lets in-flight jobs finish, closes Redis. */
  stop(): Promise<void>;
}

export interface ServiceOptions {
  config: Config;
  content: Content;
  redisUrl: string;
  log: Logger;
  clock?: () => number;
  /** How often the scheduler looks for due pushes. */
  tickMs?: number;
}

/** Timer jobs each run one engine step; the store takes turns per connection, so more buys little. */
const TIMER_CONCURRENCY = 10;

/** Patient ids carry their platform: `tg:<chat id>` is a Telegram chat. */
function platformDeliver(config: Config, log: Logger): Deliver {
  const telegram = config.telegramBotToken
    ? createTelegramSender({
        token: config.telegramBotToken,
        ...(config.telegramApiRoot ? { apiRoot: config.telegramApiRoot } : {}),
      })
    : undefined;
  return async (patientId, message) => {
    if (patientId.startsWith('tg:') && telegram) return telegram.send(patientId.slice(3), message);
    log.error({ patientId }, 'no platform configured for this patient');
    throw new UnrecoverableError(`no platform configured for patient ${patientId}`);
  };
}

/**
 * The coach as a service: the roles in `config.roles` over one shared Redis. `worker` runs timers
 * through the engine and delivers the outbox; `scheduler` turns due schedule entries into timer jobs
 * and runs the maintenance sweep; `bot` takes platform updates (with the platform adapters).
 */
export async function startService(opts: ServiceOptions): Promise<Service> {
  const { config, content, log } = opts;
  const clock = opts.clock ?? Date.now;
  const keyPrefix = `${config.redisPrefix}:`;
  // BullMQ's keys share one hash tag so its multi-key scripts work on Redis Cluster.
  const queuePrefix = `{${config.redisPrefix}q}`;
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const storeRedis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 3 });
  const connection = redis;

  const schedules = new ScheduleStore(redis, keyPrefix);
  const timersQueue = new Queue<TimerJob>(QUEUES.timers, { connection, prefix: queuePrefix });
  const outboxQueue = new Queue<DeliveryJob>(QUEUES.outbox, { connection, prefix: queuePrefix });
  const outbox = new Outbox(outboxQueue);
  const ports: EffectPorts = {
    send: (patientId, messages, key) => outbox.enqueue(key, patientId, messages),
    schedule: (patientId, schedule) => schedules.set(patientId, schedule, clock()),
    wakeAt: (patientId, at, timer) => schedules.wakeAt(patientId, at, timer),
    alertCoach: async ({ patientId, coachCode, alert }) => {
      log.warn({ patientId, coachCode, alert }, 'coach alert');
    },
    deliverExport: async (patientId) => {
      throw new Error(`export delivery for ${patientId} needs its platform adapter`);
    },
  };
  const runtime = new CoachRuntime(
    new PatientStore(storeRedis, { prefix: keyPrefix }),
    content,
    ports,
    clock,
    log,
  );

  const workers: Worker[] = [];
  const stops: (() => Promise<void>)[] = [];
  let repair: ScheduledTask | undefined;
  const lockDurationMs = config.jobLockSeconds * 1000;
  if (config.roles.includes('worker')) {
    workers.push(
      createTimerWorker(runtime, {
        connection,
        prefix: queuePrefix,
        concurrency: TIMER_CONCURRENCY,
        lockDurationMs,
      }),
      createDeliveryWorker(platformDeliver(config, log), {
        connection,
        prefix: queuePrefix,
        ratePerSecond: config.telegramRatePerSecond,
        concurrency: config.deliveryConcurrency,
        lockDurationMs,
        log,
        onBlocked: (patientId) => schedules.remove(patientId),
      }),
    );
  }
  if (config.roles.includes('scheduler')) {
    const scheduler = new Scheduler(schedules, timersQueue, log);
    stops.push(runScheduler(scheduler, clock, opts.tickMs ?? 1000, log));
    repair = startScheduleRepair({
      redis,
      prefix: keyPrefix,
      owner: randomUUID(),
      store: schedules,
      clock,
      log,
    });
  }
  if (config.roles.includes('bot')) log.info('bot role: no platform adapter takes updates in this release');
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  log.info({ roles: config.roles }, 'service started');

  return {
    runtime,
    stop: async () => {
      await repair?.destroy();
      for (const stop of stops) await stop();
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([timersQueue.close(), outboxQueue.close()]);
      await Promise.all([redis.quit(), storeRedis.quit()]);
      log.info('service stopped');
    },
  };
}
