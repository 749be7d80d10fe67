/**
 * bench/fanout: N patients due at the same minute, through the real service (scheduler → timer worker
 * → engine on a step thread → one store transaction a batch → grammY at the shared pace, the outbox
 * queue taking only what the platform refuses) to a loopback fake Bot API, compared with a bare
 * BullMQ worker doing one grammY sendMessage per job in the same run, the two side by side in rounds;
 * then the 30/s limit against a fake that answers 429 above 30/s or 1/s per chat, through the
 * outbox's delivery worker.
 *
 *   npm run bench:fanout -- [--patients 100000] [--limited-messages 600] [--concurrency 50]
 *     [--rounds 3] [--diagnose-jobs 20000] [--delivery-rate 100000] [--send-threads N] [--step-threads N]
 *     [--history-days 0] [--stall-ms 0]
 *     [--limited-charts] [--limited-mondays] [--chat-gap-ms N] [--fake-process own|shared]
 *     [--timeout-minutes 20] [--out FILE]
 *
 * Everything runs on loopback: a private redis-server (or REDIS_URL with a random prefix, whose keys
 * alone are deleted afterwards) and the fake server in a process of its own (or, with
 * `--fake-process shared`, in this one). Results: docs/PERFORMANCE.md.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createTelegramSender } from '../adapters/telegram/sender.ts';
import { Outbox } from '../jobs/delivery.ts';
import { QUEUES } from '../jobs/queues.ts';
import { ScheduleStore } from '../jobs/schedule-store.ts';
import { SendPacer } from '../jobs/send-pacer.ts';
import type { OutboundMessage } from '../src/engine/events.ts';
import { loadConfig } from '../src/runtime/config.ts';
import { encodeRecord } from '../src/runtime/record-codec.ts';
import { platformChats, type Service, startService } from '../src/runtime/service.ts';
import { localDate, localMinutes } from '../src/time/local.ts';
import { realContent } from '../test/support/content.ts';
import { achievedRate, type RateLimited } from '../test/support/fake-bot-api.ts';
import { duePatient, seedDuePatients } from '../test/support/fanout.ts';
import {
  type Arrival,
  type BenchFake,
  type BenchFakeOptions,
  type FakeCounts,
  type FakeProcess,
  startBenchFake,
} from './fake-platform.ts';
import {
  benchRedis,
  type CpuShare,
  commandsText,
  cpuMark,
  cpuParts,
  cpuPerUnit,
  cpuShare,
  cpuText,
  deleteRunKeys,
  endAll,
  fmt,
  intFlag,
  machine,
  perSecond,
  Resources,
  RunLimits,
  runBench,
  say,
} from './support.ts';

/** drills_due sends the session and its outcome buttons as one message. */
const MESSAGES_PER_PUSH = 1;

const { values: args } = parseArgs({
  options: {
    patients: { type: 'string', default: '100000' },
    'limited-messages': { type: 'string', default: '600' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    'diagnose-jobs': { type: 'string', default: '20000' },
    'delivery-rate': { type: 'string', default: '100000' },
    'send-threads': { type: 'string' },
    'step-threads': { type: 'string' },
    'history-days': { type: 'string', default: '0' },
    'stall-ms': { type: 'string', default: '0' },
    'limited-charts': { type: 'boolean', default: false },
    'limited-mondays': { type: 'boolean', default: false },
    'chat-gap-ms': { type: 'string' },
    'fake-process': { type: 'string', default: 'own' },
    'timeout-minutes': { type: 'string', default: '20' },
    out: { type: 'string' },
  },
});
const int = (name: keyof typeof args, min = 1) => intFlag(args, name, min);
const N = int('patients');
const LIMITED = int('limited-messages');
/** The bare worker's concurrency and DELIVERY_CONCURRENCY, the same for a fair comparison. */
const CONCURRENCY = int('concurrency');
/** Jobs for the bare worker run again, each waiting for its slot at phase B's pace (0: skip). */
const DIAGNOSE = int('diagnose-jobs', 0);
/**
 * A and B run this many times each, side by side, the order flipped every round (A B, B A, A B …):
 * this machine's speed drifts within minutes, and whichever phase runs second pays for what the
 * first left behind. The headline is the median of the rounds' ratios.
 */
const ROUNDS = int('rounds');
/**
 * Phase B's TELEGRAM_RATE_PER_SECOND, "no platform limit" (the most the config accepts); every
 * message still reserves its slot in Redis.
 */
const DELIVERY_RATE = int('delivery-rate');
/** B's and C's SEND_THREADS (unset: the config's default, 0). */
const SEND_THREADS = args['send-threads'] === undefined ? undefined : int('send-threads', 0);
/** B's STEP_THREADS (unset: the config's default, the cores but one). */
const STEP_THREADS = args['step-threads'] === undefined ? undefined : int('step-threads', 0);
/**
 * Days of check-ins B's patients have behind them (0: onboarded an hour ago). A record, and the
 * engine's step on it, grows with them.
 */
const HISTORY_DAYS = int('history-days', 0);
/**
 * During C, the process blocks its event loop this long every STALL_EVERY_MS, as a long garbage
 * collection does: the pace must keep the limit through it (0: never).
 */
const STALL_MS = int('stall-ms', 0);
const STALL_EVERY_MS = 713;
/**
 * Every other message of C is a Monday's weekly review with its chart to draw, as on a Monday when
 * each push is a review and a session (here to distinct chats; `--limited-mondays` sends both).
 */
const LIMITED_CHARTS = args['limited-charts'] === true;
/**
 * Every other chat of C gets a Monday's whole push as one delivery: the weekly review with its
 * chart, then the session, two requests to one chat, which this fake takes a second apart at most.
 */
const LIMITED_MONDAYS = args['limited-mondays'] === true;
/** C's TELEGRAM_CHAT_GAP_MS (unset: the config's default; 0 sends a chat's messages back to back). */
const CHAT_GAP_MS = args['chat-gap-ms'] === undefined ? undefined : int('chat-gap-ms', 0);
/**
 * Where the fake Bot API runs. In its own process, as a platform is elsewhere: in this one it reads
 * and stamps every request on this process's main thread, so a pause there (a batch of the pipeline's
 * work, a garbage collection) stamps late requests that left another thread on time, and a request
 * stamped on time after them can look a second too soon after one of them.
 */
const FAKE_PROCESS: FakeProcess = ((where) => {
  if (where === 'own' || where === 'shared') return where;
  process.stderr.write(`--fake-process: expected own or shared, got ${JSON.stringify(where)}\n`);
  process.exit(2);
})(args['fake-process']);
const limits = new RunLimits(int('timeout-minutes'));
const LIMIT = 30;
const TOKEN = '123:bench';
const BATCH = 1000;

const log = pino({ level: 'warn' });
const runId = `bench-${randomBytes(4).toString('hex')}`;

async function fakeApi(res: Resources, opts: BenchFakeOptions): Promise<BenchFake> {
  return res.own(await startBenchFake(FAKE_PROCESS, { recordMessages: false, ...opts }), (fake) =>
    fake.stop(),
  );
}

/** CPU marks that count the fake's own process with this one. */
const cpuOf = (redis: Redis, fake: BenchFake) => cpuMark(redis, () => fake.cpuSeconds());

async function service(
  res: Resources,
  redisUrl: string,
  prefix: string,
  env: Record<string, string>,
): Promise<Service> {
  const config = loadConfig({ TELEGRAM_BOT_TOKEN: TOKEN, REDIS_PREFIX: prefix, ...env });
  return res.own(await startService({ config, content: realContent(), redisUrl, log }), (s) => s.stop());
}

// ---- Phase A: a bare BullMQ queue and worker, one grammY sendMessage per job --------------------

/**
 * With `pacedAt`: the same bare worker, each job first waiting for its slot at that rate as the
 * delivery worker does, to tell the cost of the pace from the cost of the rest of the pipeline.
 */
async function baseline(
  redisUrl: string,
  message: OutboundMessage,
  count: number,
  round: number,
  pacedAt?: number,
) {
  const res = new Resources(log);
  const fake = await fakeApi(res, {});
  // The pipeline's own HTTP client: grammY's Api through the Telegram sender.
  const sender = createTelegramSender({ token: TOKEN, apiRoot: fake.apiRoot });
  const connection = res.own(new Redis(redisUrl, { maxRetriesPerRequest: null }), (c) => c.quit());
  const prefix = `{${runId}-a${round}${pacedAt ? 'p' : ''}}`;
  const pacer = pacedAt ? new SendPacer(connection, `${prefix}:pace`, pacedAt) : undefined;
  const queue = res.own(new Queue<{ chatId: string }>('baseline', { connection, prefix }), (q) => q.close());
  for (let i = 0; i < count; i += BATCH) {
    const jobs = [];
    for (let j = i; j < Math.min(count, i + BATCH); j++) {
      jobs.push({ name: 'send', data: { chatId: String(j + 1) } });
    }
    await queue.addBulk(jobs);
  }

  let done = 0;
  const before = await cpuOf(connection, fake);
  const processor = async (job: { data: { chatId: string } }) => {
    if (pacer) await pacer.slot();
    const result = await sender.send(job.data.chatId, message);
    if (!result.ok) throw new Error(`baseline send failed: ${JSON.stringify(result)}`);
    done++;
  };
  res.own(new Worker('baseline', processor, { connection, prefix, concurrency: CONCURRENCY }), (w) =>
    w.close(),
  );
  await limits.waitUntil(
    'baseline jobs',
    async () => done,
    (n) => n >= count,
    { report: true },
  );
  const cpu = cpuShare(before, await cpuOf(connection, fake));
  const { ms, rate } = atTheFake(await fake.counts());
  await res.end();
  return { jobs: done, ms, perSecond: rate, cpu };
}

/**
 * A phase's throughput as the platform sees it, the same for A and B: messages per second from the
 * first delivery at the fake to the last. So neither phase's start-up counts: not A's queue filling
 * nor B's service start (its step thread's boot) and first batch.
 */
function atTheFake(counts: FakeCounts): { ms: number; rate: number } {
  const { firstDeliveryAt, lastDeliveryAt } = counts;
  const rate = achievedRate(counts);
  if (firstDeliveryAt === undefined || lastDeliveryAt === undefined || rate === undefined)
    throw new Error('too few deliveries at the fake to time');
  return { ms: lastDeliveryAt - firstDeliveryAt, rate };
}

// ---- Phase B: the pipeline --------------------------------------------------------------------

async function pipeline(redisUrl: string, redis: Redis, round: number) {
  const now = Date.now();
  if (localMinutes(now, 'UTC') >= 23 * 60 + 30) {
    throw new Error('within 30 minutes of midnight UTC the drills could fall on the next day: run later');
  }
  // Due this minute, as every round's patients are, so none of a later round's is a catch-up.
  const { state } = duePatient(now, 'UTC', HISTORY_DAYS);
  const prefix = `${runId}-p${round}`;
  const schedules = new ScheduleStore(redis, `${prefix}:`);
  const seedStart = performance.now();
  const ids = Array.from({ length: N }, (_, i) => `tg:${i + 1}`);
  await seedDuePatients(redis, `${prefix}:`, state, ids, now);
  const seedMs = performance.now() - seedStart;
  if (localDate(Date.now(), 'UTC') !== localDate(now, 'UTC')) {
    throw new Error('the UTC date changed while seeding (a run across midnight): run it again');
  }

  const res = new Resources(log);
  const fake = await fakeApi(res, {});
  const queueOpts = { connection: redis, prefix: `{${prefix}q}` };
  const timers = res.own(new Queue(QUEUES.timers, queueOpts), (q) => q.close());
  const outbox = res.own(new Queue(QUEUES.outbox, queueOpts), (q) => q.close());

  const before = await cpuOf(redis, fake);
  const t0 = performance.now();
  const tEpoch = Date.now(); // the fake stamps deliveries with Date.now()
  // The scheduler's first tick runs inside startService, so the clock starts before it.
  await service(res, redisUrl, prefix, {
    TELEGRAM_API_ROOT: fake.apiRoot,
    DELIVERY_CONCURRENCY: String(CONCURRENCY),
    TELEGRAM_RATE_PER_SECOND: String(DELIVERY_RATE),
    ...(SEND_THREADS === undefined ? {} : { SEND_THREADS: String(SEND_THREADS) }),
    ...(STEP_THREADS === undefined ? {} : { STEP_THREADS: String(STEP_THREADS) }),
  });

  // Stage times: when the scheduler has turned every due entry into a job, when the timer queue
  // has run them all; backlogs show which queue waits for which.
  let scheduledAt = 0;
  let timersAt = 0;
  let maxTimerBacklog = 0;
  let maxOutboxBacklog = 0;
  await limits.waitUntil(
    'pipeline messages delivered',
    async () => {
      const [due, t, o] = await Promise.all([
        redis.zcount(schedules.dueKey, '-inf', Date.now()),
        timers.getJobCounts('waiting', 'active', 'delayed', 'failed'),
        outbox.getJobCounts('waiting', 'failed'),
      ]);
      if (due === 0 && !scheduledAt) scheduledAt = performance.now();
      // Finished jobs are not kept past 10,000, so "all timers ran" is: all scheduled, none left.
      const timersLeft = (t.waiting ?? 0) + (t.active ?? 0) + (t.delayed ?? 0);
      if (scheduledAt && timersLeft === 0 && !timersAt) timersAt = performance.now();
      maxTimerBacklog = Math.max(maxTimerBacklog, t.waiting ?? 0);
      maxOutboxBacklog = Math.max(maxOutboxBacklog, o.waiting ?? 0);
      if ((t.failed ?? 0) > 0 || (o.failed ?? 0) > 0) {
        throw new Error(`jobs failed: ${t.failed} timer, ${o.failed} delivery (see the log above)`);
      }
      return (await fake.counts()).delivered;
    },
    (n) => n >= N * MESSAGES_PER_PUSH,
    { report: true },
  );
  const cpu = cpuShare(before, await cpuOf(redis, fake));
  // A timer job ends after its pushes, so the last ones can still be finishing at the last delivery.
  if (!timersAt) {
    await limits.waitUntil(
      'timer jobs finished',
      async () => {
        const t = await timers.getJobCounts('waiting', 'active', 'delayed');
        return (t.waiting ?? 0) + (t.active ?? 0) + (t.delayed ?? 0);
      },
      (left) => left === 0,
      { pollMs: 10 },
    );
    timersAt = performance.now();
  }
  const memory = /used_memory_human:(\S+)/.exec(await redis.info('memory'))?.[1] ?? '?';
  const counts = await fake.counts();
  const { ms, rate } = atTheFake(counts);
  const fromStartMs = (counts.lastDeliveryAt ?? Date.now()) - tEpoch;
  const firstMs = (counts.firstDeliveryAt ?? Date.now()) - tEpoch;
  const perChat = await fake.perChat();
  const connections = counts.connections;
  await res.end();
  return {
    seedMs,
    messages: perChat.reduce((sum, n) => sum + n, 0),
    patients: perChat.filter((n) => n >= MESSAGES_PER_PUSH).length,
    duplicates: perChat.filter((n) => n > MESSAGES_PER_PUSH).length,
    ms,
    rate,
    fromStartMs,
    firstMs,
    scheduledMs: scheduledAt - t0,
    timersMs: timersAt - t0,
    maxTimerBacklog,
    maxOutboxBacklog,
    memory,
    connections,
    cpu,
  };
}

// ---- Phase C: the 30/s limit against a fake that enforces it ------------------------------------

async function limited(redisUrl: string, redis: Redis) {
  const prefix = `${runId}-c`;
  const res = new Resources(log);
  const fake = await fakeApi(res, {
    rateLimit: { perSecond: LIMIT, perChatPerSecond: 1, retryAfter: 1 },
    recordMessages: true, // for the gaps between deliveries
  });
  // Straight onto the outbox (as the engine's sends would be), one message to each of many chats,
  // all waiting before the worker starts so only the pace sets the rate.
  const queue = res.own(new Queue(QUEUES.outbox, { connection: redis, prefix: `{${prefix}q}` }), (q) =>
    q.close(),
  );
  // It only queues: the gap between a chat's messages is the worker's, from the service's config.
  const chats = platformChats(0);
  const outbox = new Outbox(queue, redis, undefined, chats);
  const review = LIMITED_CHARTS ? mondayReview() : undefined;
  const monday = LIMITED_MONDAYS ? mondayPush() : undefined;
  // LIMITED requests in all, whatever a chat gets.
  let requests = 0;
  for (let i = 1; requests < LIMITED; i++) {
    const messages =
      i % 2 === 1 && monday
        ? monday
        : [i % 2 === 1 && review ? review : { text: `Rate-limited message ${i}` }];
    await outbox.enqueue(`bench|${i}`, `tg:${i}`, messages);
    requests += messages.flatMap((m) => chats.requests(`tg:${i}`, m)).length;
  }
  if (STALL_MS > 0) {
    const stalls = setInterval(() => {
      const end = performance.now() + STALL_MS;
      while (performance.now() < end);
    }, STALL_EVERY_MS);
    res.own(stalls, async (timer) => clearInterval(timer));
  }
  await service(res, redisUrl, prefix, {
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_RATE_PER_SECOND: String(LIMIT),
    DELIVERY_CONCURRENCY: String(CONCURRENCY),
    ROLES: 'worker',
    ...(CHAT_GAP_MS === undefined ? {} : { TELEGRAM_CHAT_GAP_MS: String(CHAT_GAP_MS) }),
    ...(SEND_THREADS === undefined ? {} : { SEND_THREADS: String(SEND_THREADS) }),
  });
  await limits.waitUntil(
    'rate-limited messages delivered',
    async () => {
      const { delivered, photos } = await fake.counts();
      return delivered + photos;
    },
    (n) => n >= requests,
    { report: true },
  );
  const arrivals = (await fake.arrivals()).sort((x, y) => x.at - y.at);
  const at = arrivals.map((a) => a.at);
  const counts = await fake.counts();
  const refusals = await fake.refusals();
  const gaps = at
    .slice(1)
    .map((t, i) => t - (at[i] as number))
    .sort((x, y) => x - y);
  const span = (at.at(-1) ?? 0) - (at[0] ?? 0);
  const result = {
    // A weekly review is a photo with its text as the caption.
    delivered: at.length,
    rate: span > 0 ? ((at.length - 1) * 1000) / span : 0,
    status429: counts.status429,
    status429PerChat: counts.status429PerChat,
    refusals: refusals.map((r) => refusalText(r, arrivals)),
    medianGap: gaps[Math.floor(gaps.length / 2)] ?? 0,
    maxGap: gaps.at(-1) ?? 0,
    tightest: tightest([...at, ...refusals.map((r) => r.at)].sort((x, y) => x - y)),
  };
  await res.end();
  return result;
}

/**
 * The limit's worth of requests and one more, the closest together they came to the fake, first to
 * last, those it refused included: under a second is a 429, and what is left above a second is the
 * jitter on the way the run had to spare.
 */
function tightest(times: readonly number[]): { ms: number; from: number } {
  let least = { ms: Number.POSITIVE_INFINITY, from: 0 };
  for (let i = LIMIT; i < times.length; i++) {
    const ms = (times[i] as number) - (times[i - LIMIT] as number);
    if (ms < least.ms) least = { ms, from: (times[i - LIMIT] as number) - (times[0] as number) };
  }
  return least;
}

/**
 * A 429 as the fake saw it: when it came in the phase, and the messages it let through in the second
 * before it (to its chat, for the chat's own limit). With the limit at 30/s, a 429 for the overall
 * limit has 30 there, the oldest less than a second before it by as much as the request came too soon.
 */
function refusalText(refusal: RateLimited, arrivals: readonly Arrival[]): string {
  const before = arrivals.filter(
    (a) =>
      a.at > refusal.at - 1000 && a.at <= refusal.at && (!refusal.perChat || a.chatId === refusal.chatId),
  );
  const oldest = before[0]?.at;
  const start = arrivals[0]?.at ?? refusal.at;
  return `at +${fmt((refusal.at - start) / 1000, 3)} s, ${refusal.perChat ? `chat ${refusal.chatId}'s own limit` : 'the overall limit'}, ${before.length} let through ${refusal.perChat ? 'to it ' : ''}in the second before${oldest === undefined ? '' : `, the oldest ${refusal.at - oldest} ms before`}`;
}

/**
 * The weekly review a patient in their second week gets with a Monday's push. After more weeks its
 * text outgrows a Telegram caption and goes as a message of its own after the photo, a second
 * message to the chat within the second, which this fake refuses (Telegram allows short bursts).
 */
function mondayReview(): OutboundMessage {
  const monday = Date.parse('2026-11-30T10:00:00Z');
  const review = duePatient(monday, 'UTC', 7).sample.find((m) => m.chart !== undefined);
  if (!review) throw new Error('the Monday push carries no weekly chart');
  return review;
}

/** A Monday's push in a patient's second week: the weekly review with its chart, then the session. */
function mondayPush(): OutboundMessage[] {
  const monday = Date.parse('2026-11-30T10:00:00Z');
  const push = duePatient(monday, 'UTC', 7).sample;
  if (push.length < 2 || !push[0]?.chart) throw new Error('the Monday push is not a review and a session');
  return push;
}

// ---- the run ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const run = new Resources(log);
  const { url: redisUrl, redis } = await benchRedis(run, 'bench/fanout', runId);
  const box = await machine(redis);
  const command = `npm run bench:fanout -- ${process.argv.slice(2).join(' ')}`.replace(/ -- $/, '');
  say(`bench/fanout: ${fmt(N)} patients, concurrency ${CONCURRENCY}, ${fmt(LIMITED)} rate-limited messages`);
  say(`machine: ${box.cpus} CPUs, ${fmt(box.memGiB, 1)} GiB, node ${box.node}, redis ${box.redis}`);

  const now = Date.now();
  if (localMinutes(now, 'UTC') >= 23 * 60 + 30) {
    throw new Error('within 30 minutes of midnight UTC the drills could fall on the next day: run later');
  }
  const { state, sample } = duePatient(now, 'UTC', HISTORY_DAYS);
  if (sample.length !== MESSAGES_PER_PUSH)
    throw new Error(
      sample.some((m) => m.chart)
        ? 'on a Monday a patient with a week behind them gets the weekly chart with the push (npm run bench:charts times it): use --history-days under 7, or run on another day'
        : `the template patient gets ${sample.length} drills messages`,
    );
  // The baseline posts the very request a patient's push makes: the session with its buttons.
  const message = sample[0] as OutboundMessage;

  const runA = async (round: number) => {
    say(`\nRound ${round}, A. baseline: bare BullMQ worker, one grammY sendMessage per job …`);
    const a = await baseline(redisUrl, message, N, round);
    // Each round starts from an empty Redis, as the first did.
    await deleteRunKeys(redis, `${runId}-a${round}`);
    say(`   ${fmt(a.jobs)} jobs in ${fmt(a.ms / 1000, 1)} s = ${fmt(a.perSecond)} jobs/s; ${cpuText(a.cpu)}`);
    return a;
  };
  const runB = async (round: number) => {
    say(
      `\nRound ${round}, B. pipeline: ${fmt(N)} patients due this minute, ${sample.length} message(s) each, ${HISTORY_DAYS} days of history …`,
    );
    const b = await pipeline(redisUrl, redis, round);
    await deleteRunKeys(redis, `${runId}-p${round}`);
    say(
      `   ${fmt(b.messages)} messages to ${fmt(b.patients)} patients in ${fmt(b.ms / 1000, 1)} s at the fake (${fmt(b.fromStartMs / 1000, 1)} s from service start) = ${fmt(b.rate)}/s`,
    );
    return b;
  };
  interface Round {
    round: number;
    order: 'A B' | 'B A';
    a: Awaited<ReturnType<typeof baseline>>;
    b: Awaited<ReturnType<typeof pipeline>>;
  }
  const rounds: Round[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    if (round % 2 === 1) {
      const a = await runA(round);
      rounds.push({ round, order: 'A B', a, b: await runB(round) });
    } else {
      const b = await runB(round);
      rounds.push({ round, order: 'B A', b, a: await runA(round) });
    }
  }
  const ratioOf = (r: Round) => (r.b.rate * r.b.patients) / r.b.messages / r.a.perSecond;
  // The round whose ratio is the median stands for the run: its figures go in the table.
  const byRatio = [...rounds].sort((x, y) => ratioOf(x) - ratioOf(y));
  const mid = byRatio[Math.floor((byRatio.length - 1) / 2)] as Round;
  const median = `the median of ${rounds.length}${rounds.length % 2 === 0 ? ', the lower of the middle two' : ''}`;
  const { a, b } = mid;

  let a2: Awaited<ReturnType<typeof baseline>> | undefined;
  if (DIAGNOSE > 0) {
    say(`\nA2. the same bare worker, each job waiting for its slot at ${fmt(DELIVERY_RATE)}/s …`);
    a2 = await baseline(redisUrl, message, DIAGNOSE, 0, DELIVERY_RATE);
    say(
      `   ${fmt(a2.jobs)} jobs in ${fmt(a2.ms / 1000, 1)} s = ${fmt(a2.perSecond)} jobs/s; ${cpuText(a2.cpu)}`,
    );
  }

  const bMsgs = b.rate;
  const bPatients = (b.rate * b.patients) / b.messages;
  // The same patients timed from the service's start: its start-up and first batch included.
  const bFromStart = perSecond(b.patients, b.fromStartMs);

  // What a patient costs against a baseline job, and so how far B could go with every core busy.
  const aCpu = cpuPerUnit(a.cpu, a.jobs);
  const bCpu = cpuPerUnit(b.cpu, N);
  const bMost = (box.cpus * 1e6) / bCpu;
  const cpuLine = `CPU per unit of work in round ${mid.round} (this process, the fake Bot API ${FAKE_PROCESS === 'own' ? 'in its own process' : 'in this one'}, and redis-server; user and system): A ${fmt(aCpu)} µs per job, B ${fmt(bCpu)} µs per patient (${(bCpu / aCpu).toFixed(2)} ×); at that cost, with all ${box.cpus} cores busy, B could serve at most ${fmt(bMost)} patients/s, ${(bMost / a.perSecond).toFixed(2)} of A.`;
  // Where each unit's CPU went: on two cores, B's total is what bounds it, not its main thread alone.
  const parts = (c: CpuShare, units: number, rest: string) => {
    const p = cpuParts(c, units);
    return `${p.main === undefined ? '' : `main thread ${fmt(p.main)}, `}${p.main === undefined ? 'this process' : rest} ${fmt(p.otherThreads)}, ${FAKE_PROCESS === 'own' ? `the fake ${fmt(p.others)}, ` : ''}redis-server ${fmt(p.redis)}`;
  };
  const partsLine = `Where it went, µs: A per job: ${parts(a.cpu, a.jobs, "the process's other threads (V8's helpers)")}; B per patient: ${parts(b.cpu, N, "the process's other threads (the step thread, V8's helpers)")}.`;
  say(`\n   ${cpuLine}\n   ${partsLine}`);

  say(
    `\nC. ${LIMIT}/s limit, fake answers 429 above ${LIMIT}/s or 1/s per chat${LIMITED_CHARTS ? ', every other message a weekly review with its chart' : ''} …`,
  );
  const c = await limited(redisUrl, redis);
  say(
    `   ${fmt(c.delivered)} messages at ${fmt(c.rate, 2)}/s, ${c.status429} answered 429 (${c.status429PerChat} for a chat's own limit); the closest ${LIMIT + 1} in a row ${fmt(c.tightest.ms)} ms apart, from +${fmt(c.tightest.from / 1000, 3)} s`,
  );
  for (const line of c.refusals) say(`   429 ${line}`);

  const ok = (pass: boolean) => (pass ? 'met' : 'missed');
  const ratio = (x: number, digits = 2) => x.toFixed(digits);
  const interval = (rate: number) => new SendPacer(redis, `${runId}-unused`, rate).interval;
  const rows = [
    [`A. Baseline: bare BullMQ + grammY, jobs/s (round ${mid.round})`, fmt(a.perSecond), '1.00', ''],
    ...(a2
      ? [
          [
            `A2. Bare worker with the pace of B, jobs/s`,
            fmt(a2.perSecond),
            ratio(a2.perSecond / a.perSecond),
            '',
          ],
        ]
      : []),
    [
      `B. Pipeline: messages delivered/s (round ${mid.round}, ${median}; headline)`,
      fmt(bMsgs),
      ratio(bMsgs / a.perSecond),
      `≥ 0.7: ${ok(bMsgs / a.perSecond >= 0.7)}`,
    ],
    [
      `B. Pipeline: patients served/s (round ${mid.round})`,
      fmt(bPatients),
      ratio(bPatients / a.perSecond),
      `≥ 0.7: ${ok(bPatients / a.perSecond >= 0.7)}`,
    ],
    [
      'B. Pipeline: patients/s from service start',
      fmt(bFromStart),
      ratio(bFromStart / a.perSecond),
      'for reference',
    ],
    [
      `C. Limited: achieved msg/s of ${LIMIT}/s`,
      fmt(c.rate, 2),
      ratio(c.rate / LIMIT, 3),
      `≥ 0.95: ${ok(c.rate / LIMIT >= 0.95)}`,
    ],
    ['C. Limited: 429 answers', String(c.status429), '', `0: ${ok(c.status429 === 0)}`],
  ];
  const report = [
    `Command: \`${command}\``,
    `Date: ${new Date().toISOString()}`,
    `Fake Bot API: ${FAKE_PROCESS === 'own' ? 'in a process of its own' : "in the benchmark's process (--fake-process shared)"}, on loopback`,
    `Machine: nproc ${box.cpus} (${box.cpuModel}), ${fmt(box.memGiB, 1)} GiB RAM, node ${box.node}, redis-server ${box.redis}`,
    '',
    '| Measure | Value | Ratio | Target |',
    '| --- | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    '| Round | Order | A jobs/s | B patients/s | B/A |',
    '| ---: | --- | ---: | ---: | ---: |',
    ...rounds.map(
      (r) =>
        `| ${r.round} | ${r.order} | ${fmt(r.a.perSecond)} | ${fmt((r.b.rate * r.b.patients) / r.b.messages)} | ${ratio(ratioOf(r))} |`,
    ),
    '',
    `The rounds' B/A: ${byRatio.map((r) => ratio(ratioOf(r))).join(', ')} (lowest to highest); the lines below are round ${mid.round}'s, ${median}.`,
    '',
    `- A: ${fmt(a.jobs)} jobs, concurrency ${CONCURRENCY}, delivered in ${fmt(a.ms / 1000, 1)} s from the first delivery at the fake to the last; ${cpuText(a.cpu)}; per job ${commandsText(a.cpu, a.jobs)}.`,
    ...(a2 ? [`- A2: ${fmt(a2.jobs)} jobs in ${fmt(a2.ms / 1000, 1)} s; ${cpuText(a2.cpu)}.`] : []),
    `- B: ${fmt(N)} patients, ${sample.length} messages each, ${HISTORY_DAYS === 0 ? 'onboarded an hour before' : `${HISTORY_DAYS} days of daily check-ins behind each (a record of ${encodeRecord(state, new Map(), Buffer.alloc(0), []).length} bytes without its audit log)`}; TELEGRAM_RATE_PER_SECOND ${fmt(DELIVERY_RATE)} (a slot every ${interval(DELIVERY_RATE)} µs), DELIVERY_CONCURRENCY ${CONCURRENCY}, STEP_THREADS ${STEP_THREADS ?? `${loadConfig({}).stepThreads} (the default here: the cores but one)`}, SEND_THREADS ${SEND_THREADS ?? loadConfig({}).sendThreads}${SEND_THREADS === undefined ? ' (the default)' : ''}. States and schedules seeded in ${fmt(b.seedMs / 1000, 1)} s (not timed).`,
    `- B: ${fmt(b.messages)} messages, ${fmt(b.patients)} patients served, ${b.duplicates} served more than once (${rounds.reduce((n, r) => n + r.b.duplicates, 0)} in all rounds), delivered in ${fmt(b.ms / 1000, 1)} s from the first delivery at the fake to the last; the first came ${fmt(b.firstMs / 1000, 1)} s and the last ${fmt(b.fromStartMs / 1000, 1)} s after the service was started.`,
    `- B stages: every due entry scheduled at ${fmt(b.scheduledMs / 1000, 1)} s; every timer job run at ${fmt(b.timersMs / 1000, 1)} s (${fmt(perSecond(N, b.timersMs))} patients/s); largest backlog ${fmt(b.maxTimerBacklog)} timer jobs, ${fmt(b.maxOutboxBacklog)} deliveries.`,
    `- B load: ${cpuText(b.cpu)}; per patient ${commandsText(b.cpu, N)}; ${b.connections} TCP connections at the fake; Redis used ${b.memory} at the end (finished jobs are kept an hour, 10,000 at most).`,
    `- ${cpuLine}`,
    `- ${partsLine}`,
    `- C: ${fmt(c.delivered)} messages put straight on the outbox, ${LIMITED_MONDAYS ? `every other chat a Monday's push (a weekly review with its chart, then the session) as one delivery, ${CHAT_GAP_MS ?? 'the default'} ms apart` : `to distinct chats${LIMITED_CHARTS ? ', every other one a weekly review with its chart (drawn as it is delivered)' : ''}`}; a slot every ${interval(LIMIT)} µs, a ceiling of ${fmt(1e6 / interval(LIMIT), 2)}/s (${ratio(1e6 / interval(LIMIT) / LIMIT, 3)} of ${LIMIT}/s); gaps between deliveries at the fake: median ${c.medianGap} ms, longest ${c.maxGap} ms; the closest ${LIMIT + 1} deliveries in a row came ${fmt(c.tightest.ms)} ms apart, first to last, the first of them ${fmt(c.tightest.from / 1000, 3)} s into the phase (the fake answers 429 under 1,000)${STALL_MS > 0 ? `; the process blocked its event loop ${STALL_MS} ms every ${STALL_EVERY_MS} ms` : ''}.`,
    ...c.refusals.map((line) => `- C: a 429 ${line}.`),
  ].join('\n');
  say(`\n${report}`);
  if (args.out) writeFileSync(args.out, `${report}\n`);
}

await runBench('bench/fanout', main, () => endAll());
