import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, type Worker } from 'bullmq';
import type { Bot } from 'grammy';
import { Redis, type RedisOptions } from 'ioredis';
import type { ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { type RunningSlackApp, startSlackApp } from '../../adapters/slack/app.ts';
import { boltLogger } from '../../adapters/slack/bolt-logger.ts';
import { SLACK_CHANNEL_PREFIX, slackDeliver, slackRequests } from '../../adapters/slack/delivery.ts';
import { slackUserOf } from '../../adapters/slack/events.ts';
import { homeViewOf } from '../../adapters/slack/home.ts';
import { botTokenOf, RedisInstallationStore } from '../../adapters/slack/installation-store.ts';
import { createSlackSender } from '../../adapters/slack/sender.ts';
import { startTeamDigests } from '../../adapters/slack/team-digests.ts';
import { TeamStore } from '../../adapters/slack/team-store.ts';
import {
  createTelegramBot,
  publishCommandMenu,
  type Receiving,
  sendFiles as sendTelegramFiles,
  startPolling,
  startWebhook,
  webhookSecretOf,
} from '../../adapters/telegram/bot.ts';
import { telegramDeliver, telegramRequests } from '../../adapters/telegram/delivery.ts';
import { createTelegramSender } from '../../adapters/telegram/sender.ts';
import { threadedTelegramSender } from '../../adapters/telegram/threaded-sender.ts';
import { chatIdOf } from '../../adapters/telegram/updates.ts';
import { ChartPool } from '../../jobs/chart-pool.ts';
import { drawingCharts, imageOf, withChart } from '../../jobs/charts.ts';
import { postCoachDigests, startCoachDigests } from '../../jobs/coach-digests.ts';
import {
  type ChatRules,
  createDeliveryWorker,
  type Deliver,
  inFlightLimit,
  Outbox,
  pacedDeliver,
} from '../../jobs/delivery.ts';
import { startPendingReplay, startScheduleRepair } from '../../jobs/maintenance.ts';
import { type DeliveryJob, jobIdOf, jobIdsMatching, QUEUES, type TimerQueueJob } from '../../jobs/queues.ts';
import { ScheduleStore } from '../../jobs/schedule-store.ts';
import { runScheduler, Scheduler } from '../../jobs/scheduler.ts';
import { createTimerWorker } from '../../jobs/timer-worker.ts';
import { type Content, render } from '../content/content.ts';
import type { OutboundMessage } from '../engine/events.ts';
import { CoachDesk } from './coach-desk.ts';
import { CoachRuntime, type EffectPorts } from './coach-runtime.ts';
import { CoachStore } from './coaches.ts';
import type { Config } from './config.ts';
import { Metrics } from './metrics.ts';
import { Opened } from './opened.ts';
import { startOpsServer } from './ops-server.ts';
import { platformPacing } from './platform-pacing.ts';
import { QuestionMessages } from './question-messages.ts';
import { globEscape } from './redis-glob.ts';
import { StepPool } from './step-pool.ts';
import { PatientStore } from './store.ts';

export interface Service {
  runtime: CoachRuntime;
  /** The port the Telegram webhook listens on, in webhook mode. */
  webhookPort?: number;
  /** The port Slack's HTTP mode listens on. */
  slackPort?: number;
  /** Where /healthz, /metrics (and with ADMIN_TOKEN /admin/queues) listen, when OPS_PORT is set. */
  opsPort?: number;
  /** Runs the coaches' weekly digest now (the scheduler runs it every quarter hour). */
  runCoachDigests(): Promise<number>;
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
  /**
   * Whether the scheduler role starts its maintenance (the repair sweep, the replay of pending
   * effects, the coaches' and teams' digests) on node-cron's schedule, which keeps real time
   * (default true). A caller with a clock of its own turns it off: a real quarter hour passing would
   * run it at whatever time that clock says.
   */
  maintenance?: boolean;
}

/**
 * Timer jobs a worker runs at once, each a batch of up to 50 steps in one transaction: one being
 * planned on each step thread, one at its Redis round trips and one sending. More only wait, and
 * while they wait their messages outlive the young generation's collections and are copied, which
 * cost a fan-out 3 to 5 % of its pace against 10 at once (docs/PERFORMANCE.md).
 */
export function timerBatchesAtOnce(stepThreads: number): number {
  return stepThreads + 2;
}

/** Connections for timer batches' transactions, so that several are planned at once. */
const BATCH_CONNECTIONS = 4;

/** A queue whose oldest waiting job is this old while nothing completed for as long is stuck. */
const STUCK_MS = 15 * 60_000;

/** 'ok', or why the queue looks stuck: work waiting a long time and nothing finishing. */
async function queueHealth(queue: Queue): Promise<string> {
  const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
  if (!oldest || Date.now() - oldest.timestamp < STUCK_MS) return 'ok';
  const [last] = await queue.getJobs(['completed'], 0, 0, false);
  if (last?.finishedOn !== undefined && Date.now() - last.finishedOn < STUCK_MS) return 'ok';
  return `stuck: a job has waited ${Math.round((Date.now() - oldest.timestamp) / 60_000)} min and none finished for ${STUCK_MS / 60_000} min`;
}

/** Patient ids carry their platform: `tg:<chat id>` is a Telegram chat, `sl:`/`slc:` are Slack's. */
function platformOf(recipient: string): 'telegram' | 'slack' | undefined {
  if (chatIdOf(recipient) !== undefined) return 'telegram';
  if (slackUserOf(recipient) !== undefined || recipient.startsWith(SLACK_CHANNEL_PREFIX)) return 'slack';
  return undefined;
}

function platformDeliver(telegram: Deliver | undefined, slack: Deliver | undefined, log: Logger): Deliver {
  return async (patientId, message, departure) => {
    const platform = platformOf(patientId);
    if (telegram && platform === 'telegram') return telegram(patientId, message, departure);
    if (slack && platform === 'slack') return slack(patientId, message, departure);
    log.error({ patientId }, 'no platform configured for this patient');
    throw new UnrecoverableError(`no platform configured for patient ${patientId}`);
  };
}

/**
 * How each platform's chats take a delivery: its messages as the platform's requests, and, on
 * Telegram, `telegramGapMs` between two of them to one chat (Telegram refuses more than about one
 * message a second in a chat; Slack's pace is already a channel's own).
 */
export function platformChats(telegramGapMs: number): ChatRules {
  return {
    requests(recipient, message) {
      const platform = platformOf(recipient);
      if (platform === 'telegram') return telegramRequests(message);
      if (platform === 'slack') return slackRequests(message);
      return [message];
    },
    gapMs: (recipient) => (platformOf(recipient) === 'telegram' ? telegramGapMs : 0),
  };
}

/**
 * The coach as a service: the roles in `config.roles` over one shared Redis. `worker` runs timers
 * through the engine and delivers the outbox; `scheduler` turns due schedule entries into timer jobs
 * and runs the maintenance sweep; `bot` takes platform updates (with the platform adapters).
 */
export async function startService(opts: ServiceOptions): Promise<Service> {
  const opened = new Opened();
  try {
    return await openService(opts, opened);
  } catch (error) {
    // Nothing of a half-started service keeps running: not its workers, timers, threads or
    // connections, which would hold the process open and take jobs it can no longer finish.
    for (const failure of await opened.close())
      opts.log.warn({ err: failure }, 'closing what start-up had opened failed');
    throw error;
  }
}

/**
 * A connection that is up says goodbye (QUIT, after the replies it waits for); one that is not is
 * dropped, as QUIT would wait for it to come back, forever for a connection that retries without end.
 */
async function quit(connection: Redis): Promise<void> {
  if (connection.status === 'ready') await connection.quit();
  else connection.disconnect();
}

async function openService(opts: ServiceOptions, opened: Opened): Promise<Service> {
  const { config, content, log } = opts;
  const clock = opts.clock ?? Date.now;
  const keyPrefix = `${config.redisPrefix}:`;
  // BullMQ's keys share one hash tag so its multi-key scripts work on Redis Cluster.
  const queuePrefix = `{${config.redisPrefix}q}`;
  // Named, so that an operator's CLIENT LIST tells which connections are whose.
  const connectionName = `backcoach:${config.redisPrefix}`;
  const connect = (options: RedisOptions) =>
    opened.add(new Redis(opts.redisUrl, { connectionName, ...options }), quit);
  const redis = connect({ maxRetriesPerRequest: null });
  const storeRedis = connect({ maxRetriesPerRequest: 3 });
  // A fan-out's pushes issue the same single commands by the dozen at once (idempotency keys, slots,
  // question messages): auto-pipelined, they share writes. Only they use it: one command at a time,
  // as a reply's are, it costs more than it saves. Never a WATCH here, which it would break.
  const pipelinedRedis = connect({ maxRetriesPerRequest: 3, enableAutoPipelining: true });
  const connection = redis;

  const schedules = new ScheduleStore(redis, keyPrefix);
  const timersQueue = opened.add(
    new Queue<TimerQueueJob>(QUEUES.timers, { connection, prefix: queuePrefix }),
    (q) => q.close(),
  );
  const outboxQueue = opened.add(
    new Queue<DeliveryJob>(QUEUES.outbox, { connection, prefix: queuePrefix }),
    (q) => q.close(),
  );
  // One pace per platform (Slack's per channel), in Redis, for the delivery worker's messages and
  // for pushes sent straight out.
  const rates = { telegram: config.telegramRatePerSecond, slackPerChannel: config.slackRatePerChannel };
  const pacing = platformPacing(redis, outboxQueue.toKey('pace'), rates);
  const pushPacing = platformPacing(pipelinedRedis, outboxQueue.toKey('pace'), rates);
  const token = config.telegramBotToken;
  const apiRoot = config.telegramApiRoot ? { apiRoot: config.telegramApiRoot } : {};
  // Only a worker delivers, so only a worker sends from a thread; it closes after the workers.
  const sendThread =
    token && config.roles.includes('worker') && config.sendThreads > 0
      ? opened.add(
          threadedTelegramSender({
            token,
            ...apiRoot,
            onThreadError: (error) => log.error({ err: error }, 'the Telegram send thread failed'),
          }),
          (s) => s.close(),
        )
      : undefined;
  const sender = sendThread ?? (token ? createTelegramSender({ token, ...apiRoot }) : undefined);
  const questions = new QuestionMessages(storeRedis, keyPrefix);
  let bot: Bot | undefined;
  const installations = config.slackOAuth ? new RedisInstallationStore(storeRedis, keyPrefix) : undefined;
  const envSlackToken = config.slackBotToken;
  const slack =
    installations || envSlackToken
      ? createSlackSender({
          ...(config.slackApiUrl ? { apiUrl: config.slackApiUrl } : {}),
          tokenFor: async (teamId) =>
            installations ? botTokenOf(installations, teamId) : (envSlackToken as string),
          redis: storeRedis,
          prefix: keyPrefix,
          logger: boltLogger(log),
        })
      : undefined;
  const metrics = new Metrics(async () => [
    { queue: QUEUES.timers, counts: await timersQueue.getJobCounts() },
    { queue: QUEUES.outbox, counts: await outboxQueue.getJobCounts() },
  ]);
  const deliverWith = (remembering: QuestionMessages) =>
    platformDeliver(
      sender && telegramDeliver(sender, remembering),
      slack && slackDeliver(slack, remembering, storeRedis, keyPrefix),
      log,
    );
  const deliver = deliverWith(questions);
  // Only a worker delivers, so only a worker draws charts; it closes after the workers that use it.
  const chartPool =
    config.roles.includes('worker') && config.chartThreads > 0
      ? opened.add(new ChartPool({ threads: config.chartThreads }), (p) => p.close())
      : undefined;
  const drawChart = chartPool?.draw ?? imageOf;
  const deliveryObserve = {
    delivered: (recipient: string) => metrics.delivered.inc({ platform: Metrics.platformOf(recipient) }),
    retried: (reason: 'rate_limited' | 'error' | 'blocked' | 'rejected') => metrics.retries.inc({ reason }),
  };
  // A worker sends pushes straight out at the shared pace, its outbox queue taking what fails.
  // Direct sends and the delivery worker share DELIVERY_CONCURRENCY, so a crash repeats no more;
  // the worker's messages (replies among them) take their turn before waiting pushes.
  const inFlight = inFlightLimit(config.deliveryConcurrency);
  const chats = platformChats(config.telegramChatGapMs);
  const outbox = new Outbox(
    outboxQueue,
    redis,
    config.roles.includes('worker')
      ? {
          deliver: drawingCharts(
            pacedDeliver(deliverWith(new QuestionMessages(pipelinedRedis, keyPrefix)), pushPacing, {
              retries: 0,
              log,
              observe: deliveryObserve,
            }),
            drawChart,
          ),
          redis: pipelinedRedis,
          limit: inFlight.direct,
          log,
          delivered: deliveryObserve.delivered,
        }
      : undefined,
    chats,
  );
  const teams = new TeamStore(storeRedis, keyPrefix);
  const coaches = new CoachStore(storeRedis, keyPrefix, config.coaches);
  await coaches.ensureCodes();
  const sendFiles = async (recipient: string, files: { filename: string; content: string }[]) => {
    if (bot && chatIdOf(recipient) !== undefined) return sendTelegramFiles(bot, recipient, files);
    if (slack && slackUserOf(recipient) !== undefined) return slack.sendFiles(recipient, files);
    throw new Error(`no platform configured to send files to ${recipient}`);
  };
  const ports: EffectPorts = {
    send: (patientId, messages, key, fresh) => outbox.enqueue(key, patientId, messages, { fresh }),
    sendNow: (patientId, messages, key, fresh) => outbox.sendNow(key, patientId, messages, { fresh }),
    joinCoach: async (patientId, code) => {
      // A patient who used a coach's code is on that coach's roster from then on.
      const coachId = await coaches.coachOfCode(code);
      if (coachId) await coaches.addToRoster(coachId, patientId);
      else log.info({ patientId }, 'a coach code that no configured coach has');
    },
    schedule: (patientId, schedule) => schedules.set(patientId, schedule, clock()),
    wakeAt: (patientId, at, timer) => schedules.wakeAt(patientId, at, timer),
    alertCoach: async ({ patientId, coachCode, alert, text }, key) => {
      const coachId = await coaches.coachOfCode(coachCode);
      if (!coachId) {
        log.warn({ patientId, alert }, 'coach alert, but the patient has no coach to tell');
        return;
      }
      const label = await coaches.addToRoster(coachId, patientId);
      const t = (k: string, params: Record<string, string | number> = {}) =>
        render(content, config.defaultLocale, k, params);
      await outbox.enqueue(`alert|${key}`, coachId, [
        { text: t('desk.alert', { label, alert: t(`desk.alert_kind.${alert}`), reason: text }) },
      ]);
    },
    stepped: async (patientId, state) => {
      // Slack's App Home shows the patient's state, so it follows every step.
      if (!slack || slackUserOf(patientId) === undefined) return;
      await slack.publishHome(patientId, homeViewOf(state(), clock(), content, config.defaultLocale));
    },
    forget: async (patientId, keep) => {
      await outbox.forget(patientId, keep);
      // Finished timer jobs name the patient in their id (timer|patient|date); queued ones are gone
      // with the schedule, but a finished one is kept an hour.
      for (const id of await jobIdsMatching(timersQueue, redis, `*|${globEscape(jobIdOf(patientId))}|*`))
        await timersQueue.remove(id);
      await coaches.forgetPatient(patientId);
    },
    deliverExport: async (patientId, data) => {
      const date = new Date(clock()).toISOString().slice(0, 10);
      await sendFiles(patientId, [
        { filename: `backcoach-${date}.json`, content: data.json },
        { filename: `backcoach-${date}.csv`, content: data.csv },
      ]);
    },
  };
  // Only a worker runs fan-outs (handleMany), so only a worker has the threads to plan them.
  const stepPool =
    config.roles.includes('worker') && config.stepThreads > 0
      ? opened.add(new StepPool({ contentDir: config.contentDir, threads: config.stepThreads }), (p) =>
          p.close(),
        )
      : undefined;
  // Batches planned on threads overlap, each holding a connection of its own from WATCH to EXEC.
  const batchRedis = stepPool
    ? Array.from({ length: BATCH_CONNECTIONS }, () => connect({ maxRetriesPerRequest: 3 }))
    : [];
  const runtimeStore = new PatientStore(storeRedis, { prefix: keyPrefix, batchConnections: batchRedis });
  const runtime = new CoachRuntime(runtimeStore, content, ports, clock, log, {
    observe: (kind, duplicate) => metrics.handled.inc({ kind, duplicate: String(duplicate) }),
    ...(stepPool ? { planMany: stepPool.planMany } : {}),
  });
  const desk = new CoachDesk(
    coaches,
    runtimeStore,
    runtime,
    content,
    config.defaultLocale,
    {
      reply: (coachId, key, messages) => outbox.enqueue(key, coachId, messages),
      sendFiles,
      inviteLink: (coachId, code) =>
        bot && chatIdOf(coachId) !== undefined && bot.isInited()
          ? `https://t.me/${bot.botInfo.username}?start=${code}`
          : undefined,
    },
    clock,
  );
  const coachDigestOptions = {
    coaches,
    store: runtimeStore,
    send: (key: string, coachId: string, messages: OutboundMessage[]) =>
      outbox.enqueue(key, coachId, messages),
    content,
    locale: config.defaultLocale,
    log,
  };
  const deskPort = {
    isCoach: (id: string) => coaches.isCoach(id),
    handle: (senderId: string, text: string, eventId: string) => desk.handle(senderId, text, eventId),
  };
  if (token && sender) {
    bot = createTelegramBot({
      token,
      ...apiRoot,
      runtime,
      sender,
      questions,
      log,
      desk: deskPort.handle,
    });
  }

  // The workers start once the thread has loaded: messages that waited for it would go out together
  // when it had (at 30/s, a second's worth at once). A thread that cannot start stops start-up.
  await sendThread?.ready();
  // Closed together: each lets its jobs in flight finish.
  const workers = opened.add([] as Worker[], (all) => Promise.all(all.map((w) => w.close())));
  const destroy = (task: ScheduledTask) => task.destroy();
  const lockDurationMs = config.jobLockSeconds * 1000;
  if (config.roles.includes('worker')) {
    workers.push(
      createTimerWorker(runtime, {
        connection,
        prefix: queuePrefix,
        concurrency: timerBatchesAtOnce(config.stepThreads),
        lockDurationMs,
        observeLag: (seconds) => metrics.timerLag.observe(seconds),
        clock,
        log,
      }),
      createDeliveryWorker(deliver, {
        connection,
        prefix: queuePrefix,
        pacing,
        concurrency: config.deliveryConcurrency,
        limit: inFlight.queued,
        prepare: (message) => withChart(message, drawChart),
        chats: outbox.spacing,
        lines: outbox.lines,
        lockDurationMs,
        log,
        observe: deliveryObserve,
        onBlocked: async (patientId, jobId) => {
          await runtime.handle({
            id: `blocked|${jobId}`,
            patientId,
            kind: 'reachability',
            reachable: false,
          });
        },
      }),
    );
  }
  if (config.roles.includes('scheduler')) {
    const scheduler = new Scheduler(schedules, timersQueue, log);
    opened.add(runScheduler(scheduler, clock, opts.tickMs ?? 1000, log), (stop) => stop());
  }
  if (config.roles.includes('scheduler') && (opts.maintenance ?? true)) {
    const repair = startScheduleRepair({
      redis,
      prefix: keyPrefix,
      owner: randomUUID(),
      store: schedules,
      clock,
      log,
    });
    opened.add(repair, destroy);
    const replay = startPendingReplay({
      redis,
      prefix: keyPrefix,
      owner: randomUUID(),
      store: runtimeStore,
      runtime,
      clock,
      log,
    });
    opened.add(replay, destroy);
    const coachDigests = startCoachDigests({
      ...coachDigestOptions,
      redis,
      prefix: keyPrefix,
      owner: randomUUID(),
      clock,
    });
    opened.add(coachDigests, destroy);
    if (slack) {
      const digests = startTeamDigests({
        teams,
        store: runtimeStore,
        outbox,
        content,
        locale: config.defaultLocale,
        log,
        redis,
        prefix: keyPrefix,
        owner: randomUUID(),
        clock,
      });
      opened.add(digests, destroy);
    }
  }
  let receiving: Receiving | undefined;
  let slackApp: RunningSlackApp | undefined;
  if (config.roles.includes('bot')) {
    if (bot) {
      await publishCommandMenu(bot, content, config.defaultLocale, log);
      receiving = opened.add(
        config.telegramWebhookUrl
          ? await startWebhook(
              bot,
              {
                url: config.telegramWebhookUrl,
                secret: webhookSecretOf(bot.token, config.telegramWebhookSecret),
                port: config.telegramWebhookPort,
              },
              log,
            )
          : await startPolling(bot, log),
        (r) => r.stop(),
      );
    }
    if (slack) {
      slackApp = opened.add(
        await startSlackApp({
          ...(config.slackSigningSecret ? { signingSecret: config.slackSigningSecret } : {}),
          ...(config.slackAppToken ? { appToken: config.slackAppToken } : {}),
          ...(config.slackBotToken && !installations ? { botToken: config.slackBotToken } : {}),
          ...(installations && config.slackOAuth
            ? { oauth: { ...config.slackOAuth, installationStore: installations } }
            : {}),
          ...(config.slackApiUrl ? { apiUrl: config.slackApiUrl } : {}),
          port: config.slackPort,
          runtime,
          store: runtimeStore,
          sender: slack,
          questions,
          teams,
          content,
          defaultLocale: config.defaultLocale,
          log,
          desk: deskPort,
          clock,
        }),
        (app) => app.stop(),
      );
    }
    if (!bot && !slack) log.info('bot role: no platform token configured, so no updates are taken');
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const ops =
    config.opsPort === undefined
      ? undefined
      : opened.add(
          await startOpsServer({
            port: config.opsPort,
            metrics,
            log,
            ...(config.adminToken
              ? { admin: { token: config.adminToken, queues: { timers: timersQueue, outbox: outboxQueue } } }
              : {}),
            health: async () => {
              const checks: Record<string, string> = {};
              checks.redis = await storeRedis.ping().then(
                () => 'ok',
                (error: unknown) => `unreachable: ${error instanceof Error ? error.message : String(error)}`,
              );
              if (checks.redis === 'ok') {
                checks.timers = await queueHealth(timersQueue);
                checks.outbox = await queueHealth(outboxQueue);
              }
              if (receiving?.health) checks.telegram = receiving.health();
              return { ok: Object.values(checks).every((c) => c === 'ok'), checks };
            },
          }),
          (server) => server.stop(),
        );
  if (config.adminToken && !ops) log.warn('ADMIN_TOKEN is set but OPS_PORT is not, so there is no dashboard');
  log.info({ roles: config.roles }, 'service started');

  return {
    runtime,
    ...(receiving?.port !== undefined ? { webhookPort: receiving.port } : {}),
    ...(slackApp?.port !== undefined ? { slackPort: slackApp.port } : {}),
    runCoachDigests: () => postCoachDigests(coachDigestOptions, clock()),
    ...(ops ? { opsPort: ops.port } : {}),
    stop: async () => {
      // The servers first (no new work), then the timers and workers (their jobs in flight
      // finish), then the threads and connections they used.
      const failures = await opened.close();
      if (failures.length > 0) throw new AggregateError(failures, 'the service stopped with errors');
      log.info('service stopped');
    },
  };
}
