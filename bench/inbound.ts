/**
 * bench/inbound: check-in answers per second through the Telegram webhook, the engine and Redis,
 * end to end (the POST to the webhook until the reply reaches the Bot API), against a bare grammY
 * webhook bot with @grammyjs/storage-redis sessions that replies once, in the same run; then the
 * latency of each at half of its own maximum rate.
 *
 *   npm run bench:inbound -- [--updates 20000] [--rounds 3] [--warmup 2000] [--concurrency 50] [--duration 20]
 *     [--answer tap|text] [--delivery-rate 1000] [--only baseline|pipeline] [--floor] [--timeout-minutes 20]
 *     [--profile DIR] [--out FILE]
 *
 * --floor adds phase A3 between the two: the same bare bot, but doing on the platform what a tap
 * needs, as the pipeline does (answer the tap, close the answered question, reply). A3/A is then a
 * ceiling on B/A for any design that answers taps that way, measured in the same run.
 *
 * Everything runs on loopback in this process: a private redis-server (or REDIS_URL with a random
 * prefix, whose keys alone are deleted afterwards), one fake Bot API shared by both phases, the
 * webhook servers and the load generator. Results: docs/PERFORMANCE.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { RedisAdapter } from '@grammyjs/storage-redis';
import { Queue } from 'bullmq';
import { Bot, type Context, type SessionFlavor, session, webhookCallback } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { inlineKeyboard } from '../adapters/telegram/sender.ts';
import { QUEUES } from '../jobs/queues.ts';
import type { InboundEvent, OutboundMessage } from '../src/engine/events.ts';
import type { PatientState } from '../src/engine/state.ts';
import { step } from '../src/engine/step.ts';
import { loadConfig } from '../src/runtime/config.ts';
import { startService } from '../src/runtime/service.ts';
import { keysOf, PatientStore } from '../src/runtime/store.ts';
import { formatWallTime, localDate, localMinutes } from '../src/time/local.ts';
import { realContent } from '../test/support/content.ts';
import { type FakeBotApi, fakeBotUser, startFakeBotApi } from '../test/support/fake-bot-api.ts';
import { SimPatient } from '../test/support/patient.ts';
import {
  benchRedis,
  type CpuShare,
  commandsText,
  cpuMark,
  cpuShare,
  cpuText,
  fmt,
  intFlag,
  machine,
  median,
  perSecond,
  Resources,
  RunLimits,
  runBench,
  say,
} from './support.ts';

const { values: args } = parseArgs({
  options: {
    updates: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '50' },
    duration: { type: 'string', default: '20' },
    answer: { type: 'string', default: 'tap' },
    'delivery-rate': { type: 'string', default: '1000' },
    only: { type: 'string' },
    floor: { type: 'boolean', default: false },
    profile: { type: 'string' },
    'timeout-minutes': { type: 'string', default: '20' },
    out: { type: 'string' },
  },
});
const int = (name: keyof typeof args, min = 1) => intFlag(args, name, min);
/** Updates in each timed closed-loop round. */
const UPDATES = int('updates');
/** Closed-loop rounds per phase, alternating between the phases. */
const ROUNDS = int('rounds');
/** Updates before the timed rounds, on their own patients, so both phases are measured warm. */
const WARMUP = int('warmup', 0);
/** Clients in the closed loop; also the open loop's connections and the pipeline's DELIVERY_CONCURRENCY. */
const CONCURRENCY = int('concurrency');
const DURATION_S = int('duration');
/**
 * Phase B's TELEGRAM_RATE_PER_SECOND: far above what the pipeline reaches (as in bench/fanout), so
 * the shared pace (SendPacer) does not set it; production runs 30, which would.
 */
const DELIVERY_RATE = int('delivery-rate');
const limits = new RunLimits(int('timeout-minutes'));
if (args.answer !== 'tap' && args.answer !== 'text') throw new Error('--answer: expected tap or text');
/** tap: the pain button under the question (what most patients do); text: the number typed. */
const ANSWER: 'tap' | 'text' = args.answer;
if (args.only !== undefined && args.only !== 'baseline' && args.only !== 'pipeline') {
  throw new Error('--only: expected baseline or pipeline');
}
const RUN_BASELINE = args.only !== 'pipeline';
const RUN_PIPELINE = args.only !== 'baseline';
const RUN_FLOOR = args.floor === true && args.only === undefined && args.answer === 'tap';
if (args.floor && !RUN_FLOOR) throw new Error('--floor: needs both phases and --answer tap');

const TOKEN = '123:bench';
const SECRET = 'bench-inbound-secret';
const HOOK_PATH = '/telegram/hook';
/** Every check-in answers the same pain, below any setback threshold, so no coach alert is sent. */
const PAIN = 3;
/** The id of the message that shows the pain question in each patient's chat. */
const QUESTION_MESSAGE_ID = 2;
/** A reply not seen this long after its update was posted: the run is stuck. */
const STALL_MS = 30_000;
const BATCH = 1000;
/** Connections for seeding patients through the store. */
const SEED_CONNECTIONS = 8;
const TARGET = 0.6;

const log = pino({ level: 'warn' });
const runId = `bench-${randomBytes(4).toString('hex')}`;

const resources = new Resources(log);

// ---- replies at the fake Bot API ----------------------------------------------------------------

/**
 * The replies the load generator waits for, one per chat: resolved from the fake's own request
 * handler with the time it accepted the sendMessage. Every update goes to a chat used once in the
 * whole run, so any second message to a chat is a duplicate and fails the run.
 */
class Replies {
  private readonly waiting = new Map<
    string,
    { since: number; resolve: (at: number) => void; reject: (error: Error) => void }
  >();
  private broken: Error | undefined;
  unexpected = 0;
  private readonly watchdog: NodeJS.Timeout;

  constructor() {
    // Insertion order is posting order, so the first waiter is the oldest.
    this.watchdog = setInterval(() => {
      const oldest = this.waiting.entries().next().value;
      const stop = limits.stopReason();
      if (stop) this.fail(new Error(stop));
      else if (oldest && performance.now() - oldest[1].since > STALL_MS) {
        this.fail(new Error(`no reply in chat ${oldest[0]} for ${STALL_MS / 1000} s (see the log above)`));
      }
    }, 1000);
  }

  /** Registered before the update is posted: a reply can arrive before the webhook answers. */
  expect(chatId: string): Promise<number> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.waiting.set(chatId, { since: performance.now(), resolve, reject });
    });
  }

  /** The update was refused: no reply will come. */
  cancel(chatId: string): void {
    this.waiting.delete(chatId);
  }

  delivered = (chatId: string): void => {
    const waiter = this.waiting.get(chatId);
    if (!waiter) {
      this.unexpected++;
      return;
    }
    this.waiting.delete(chatId);
    waiter.resolve(performance.now());
  };

  fail(error: Error): void {
    this.broken ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }

  stop(): void {
    clearInterval(this.watchdog);
  }
}

// ---- the load generator -------------------------------------------------------------------------

interface Update {
  chatId: string;
  body: Buffer;
}

interface Target {
  replies: Replies;
  post(body: Buffer): Promise<number>;
}

/**
 * Posts updates as Telegram does (JSON, the secret-token header) over at most `CONCURRENCY`
 * keep-alive connections, which is also how Telegram bounds a webhook (`max_connections`, 40 by
 * default). Plain node:http rather than fetch, so the generator takes less of the shared CPU.
 */
function poster(res: Resources, port: number) {
  const agent = res.own(new Agent({ keepAlive: true, maxSockets: CONCURRENCY }), async (a) => a.destroy());
  return (body: Buffer) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: '127.0.0.1',
          port,
          path: HOOK_PATH,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            'x-telegram-bot-api-secret-token': SECRET,
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

interface Round {
  count: number;
  ms: number;
  /** POST sent (closed loop) or due (open loop) → reply accepted by the fake, in ms. */
  latencies: Float64Array;
  failed: Map<number, number>;
  /** Open loop only: how late the generator issued its POSTs, in ms (its own health). */
  sendLagP99?: number;
}

async function send(
  target: Target,
  update: Update,
  failed: Map<number, number>,
): Promise<number | undefined> {
  const reply = target.replies.expect(update.chatId);
  const status = await target.post(update.body).catch(() => 0);
  if (status !== 200) {
    target.replies.cancel(update.chatId);
    reply.catch(() => undefined);
    failed.set(status, (failed.get(status) ?? 0) + 1);
    return undefined;
  }
  return reply;
}

/**
 * CONCURRENCY clients, each posting the next patient's update and waiting for its reply at the
 * fake before taking another: the most the phase sustains with that many check-ins in flight.
 */
async function closedLoop(target: Target, updates: Update[]): Promise<Round> {
  const latencies = new Float64Array(updates.length);
  const failed = new Map<number, number>();
  let next = 0;
  const t0 = performance.now();
  let last = t0;
  const client = async () => {
    for (let i = next++; i < updates.length; i = next++) {
      const sent = performance.now();
      const at = await send(target, updates[i] as Update, failed);
      if (at === undefined) continue;
      latencies[i] = at - sent;
      last = Math.max(last, at);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return { count: updates.length, ms: last - t0, latencies, failed };
}

/**
 * Updates at a fixed rate whatever the answers, for `updates.length / rate` seconds. Latency counts
 * from when each POST was due, so a generator held up by the busy event loop it shares with the
 * service does not hide the wait (no coordinated omission).
 */
async function openLoop(target: Target, updates: Update[], rate: number): Promise<Round> {
  const latencies = new Float64Array(updates.length);
  const lags = new Float64Array(updates.length);
  const failed = new Map<number, number>();
  const gap = 1000 / rate;
  const t0 = performance.now() + 20;
  const inFlight: Promise<void>[] = [];
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      for (; i < updates.length && t0 + i * gap <= now; i++) {
        const due = t0 + i * gap;
        const index = i;
        lags[index] = now - due;
        inFlight.push(
          send(target, updates[index] as Update, failed).then((at) => {
            if (at !== undefined) latencies[index] = at - due;
          }),
        );
      }
      if (i >= updates.length) resolve();
      else setTimeout(tick, Math.max(0, t0 + i * gap - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  return {
    count: updates.length,
    ms: performance.now() - t0,
    latencies,
    failed,
    sendLagP99: percentile(lags.sort(), 0.99),
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number;
}

function failures(round: Round): string | undefined {
  if (round.failed.size === 0) return undefined;
  return [...round.failed].map(([status, n]) => `${n} answered ${status || 'no HTTP answer'}`).join(', ');
}

// ---- the patients ---------------------------------------------------------------------------------

/** Chat ids are never reused in a run, so every update is a first answer in a fresh chat. */
let nextChatId = 100_000_000;
let nextUpdateId = 1;

/**
 * A zone in which it is about noon now, so a run at any hour stays on one local date: the seeded
 * session and the answer to it must fall on the same local day.
 */
function noonZone(now: number): string {
  const hours = 12 - new Date(now).getUTCHours(); // −11 … +12
  // Etc/GMT zones count the other way round: Etc/GMT-3 is UTC+3.
  return hours === 0 ? 'Etc/GMT' : `Etc/GMT${hours > 0 ? '-' : '+'}${Math.abs(hours)}`;
}

interface Template {
  /** Active, the session pushed and answered "done"; the pain question is the one pending. */
  state: PatientState;
  /** The patients' local date, on which each check-in must be stored. */
  today: string;
  seq: number;
  /** The pain question as the patient sees it, for the tapped message in a callback_query. */
  question: { text: string; markup: InlineKeyboardMarkup };
  /** What the engine replies to the pain answer: the next check-in question. */
  reply: OutboundMessage;
}

/**
 * One patient onboarded through the pure engine, given today's session and having answered "done":
 * each clone's next input is a pain answer, a real check-in step with one reply.
 */
function patientTemplate(now: number): Template {
  const content = realContent();
  const sim = new SimPatient(content, {
    id: 'tg:1',
    timezone: 'UTC',
    start: new Date(now - 3_600_000).toISOString(),
  }).onboard();
  if (sim.state?.status !== 'active') throw new Error('onboarding the template patient failed');
  const zone = noonZone(now);
  const today = localDate(now, zone);
  const minute = localMinutes(now, zone);
  sim.now = now;
  // Screened and heard from today (no weekly re-check replaces the session), no quiet hours.
  sim.state = {
    ...sim.state,
    days: [],
    lastScreenOn: today,
    lastHeardOn: today,
    schedule: {
      timezone: zone,
      drillTime: formatWallTime(minute),
      reminderTime: formatWallTime((minute + 480) % 1440),
      quietHours: null,
    },
  };
  sim.send({ kind: 'timer', timer: 'drills_due', date: today });
  const asked = sim.messages(sim.answer('outcome', 'done')).find((m) => m.seq !== undefined);
  const state = sim.state;
  if (state?.ask?.q !== 'pain' || !asked?.choices)
    throw new Error('the template patient is not asked for pain');
  const seq = state.ask.seq;
  const markup = inlineKeyboard(asked.choices, seq);
  if (!markup) throw new Error('the pain question has no buttons');
  const event = { id: 'sample', patientId: 'tg:1', kind: 'choice', seq, value: String(PAIN) } as const;
  const replies = step(state, event, now, content).effects.flatMap((e) =>
    e.type === 'send' ? [e.message] : [],
  );
  if (replies.length !== 1) throw new Error(`a pain answer gets ${replies.length} messages, expected 1`);
  return {
    state,
    today,
    seq,
    question: { text: asked.text, markup },
    reply: replies[0] as OutboundMessage,
  };
}

/** The patient's pain answer as Telegram posts it: a tap on the question's button, or typed. */
function updateFor(template: Template, chatId: number): Update {
  const from = { id: chatId, is_bot: false, first_name: 'Pat', language_code: 'en' };
  const chat = { id: chatId, type: 'private', first_name: 'Pat' };
  const date = Math.floor(Date.now() / 1000);
  const updateId = nextUpdateId++;
  const update =
    ANSWER === 'tap'
      ? {
          update_id: updateId,
          callback_query: {
            id: `q${updateId}`,
            from,
            chat_instance: `ci${chatId}`,
            data: `${template.seq}:${PAIN}`,
            message: {
              message_id: QUESTION_MESSAGE_ID,
              date,
              chat,
              text: template.question.text,
              reply_markup: template.question.markup,
            },
          },
        }
      : {
          update_id: updateId,
          message: { message_id: 1000 + updateId, date, chat, from, text: String(PAIN) },
        };
  return { chatId: String(chatId), body: Buffer.from(JSON.stringify(update)) };
}

function newChats(count: number): number[] {
  const chats = Array.from({ length: count }, (_, i) => nextChatId + i);
  nextChatId += count;
  return chats;
}

async function inBatches<T>(items: T[], run: (batch: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH) await run(items.slice(i, i + BATCH));
}

// ---- CPU ------------------------------------------------------------------------------------------

/** Bot API calls per method during a round, per update: what each phase asks of Telegram. */
function callsSince(fake: FakeBotApi, before: Map<string, number>, updates: number): string {
  return [...fake.stats.requests]
    .map(([method, n]) => [method, n - (before.get(method) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([method, n]) => `${method} ${fmt(n / updates, 2)}`)
    .join(', ');
}

/**
 * With --profile: a CPU profile of each phase's first timed round alone (node's own --cpu-prof would
 * also take in start-up, seeding and the half-idle latency round), for Chrome DevTools or
 * speedscope. The profiler slows that round down, so take the figures from a run without it.
 */
async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  if (!args.profile) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(args.profile, { recursive: true });
    const file = join(args.profile, `inbound-${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    say(`   CPU profile of the closed loop: ${file}`);
  }
}

// ---- the phases ---------------------------------------------------------------------------------

/** One side of the comparison, started once and measured in several rounds. */
interface Subject {
  name: string;
  target: Target;
  /** Fresh patients, each one answer away from a stored check-in. */
  seed(chats: number[]): Promise<void>;
  /** How many of these chats have their check-in stored. */
  stored(chats: number[]): Promise<number>;
  /** Anything the phase itself saw go wrong (failed jobs), or undefined. */
  problems?(): Promise<string | undefined>;
}

interface Throughput extends Round {
  perSecond: number;
  cpu: CpuShare;
  calls: string;
}

/** Seeds fresh patients, runs their updates, and fails unless every one answered 200 and stored. */
async function round(
  subject: Subject,
  template: Template,
  label: string,
  count: number,
  run: (updates: Update[]) => Promise<Round>,
): Promise<Round> {
  const chats = newChats(count);
  await subject.seed(chats);
  const updates = chats.map((chatId) => updateFor(template, chatId));
  const result = await run(updates);
  const failed = failures(result);
  if (failed) throw new Error(`${subject.name}, ${label}: ${failed}`);
  const stored = await subject.stored(chats);
  if (stored !== count)
    throw new Error(`${subject.name}, ${label}: ${count} updates, but ${stored} check-ins stored`);
  return result;
}

async function throughputRound(
  subject: Subject,
  template: Template,
  fake: FakeBotApi,
  redis: Redis,
  index: number,
): Promise<Throughput> {
  // Marked inside the round, so the seeding and the check of stored check-ins are left out.
  let cpu: CpuShare | undefined;
  let calls = '';
  const result = await round(subject, template, `round ${index}`, UPDATES, async (updates) => {
    const before = await cpuMark(redis);
    const requests = new Map(fake.stats.requests);
    const run = () => closedLoop(subject.target, updates);
    const done = await (index === 1 ? profiled(subject.name.split(' ')[1] ?? subject.name, run) : run());
    cpu = cpuShare(before, await cpuMark(redis));
    calls = callsSince(fake, requests, UPDATES);
    return done;
  });
  if (!cpu) throw new Error('the closed loop left no CPU figures');
  const rate = perSecond(result.count, result.ms);
  say(
    `   ${subject.name}, round ${index}: ${fmt(UPDATES)} updates in ${fmt(result.ms / 1000, 1)} s = ${fmt(rate)}/s; ${cpuText(cpu)}; ${commandsText(cpu, UPDATES)} per update`,
  );
  return { ...result, perSecond: rate, cpu, calls };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

const BOT_INFO = fakeBotUser(123);

interface BareSession {
  checkIns: number;
  lastPain: number | null;
  lastOn: string | null;
}
type BareContext = Context & SessionFlavor<BareSession>;

/**
 * A. What a small bot does for the same update: the session read from Redis, changed, written back,
 * and one reply with the same text and buttons as the pipeline's. Unlike the pipeline it keeps no
 * history, no de-duplication or audit, runs no engine, does not answer the tap's spinner or take the
 * buttons off the answered question, and replies straight from the webhook instead of through a
 * queue.
 */
async function baseline(
  res: Resources,
  redisUrl: string,
  fake: FakeBotApi,
  template: Template,
  replies: Replies,
  /** A3: also answer the tap and close the answered question, as the pipeline does. */
  tapWork = false,
): Promise<Subject> {
  const redis = res.own(new Redis(redisUrl, { maxRetriesPerRequest: null }), (r) => r.quit());
  const prefix = `${runId}-${tapWork ? 'a3' : 'a'}:`;
  const bot = new Bot<BareContext>(TOKEN, { botInfo: BOT_INFO, client: { apiRoot: fake.apiRoot } });
  bot.use(
    session({
      initial: (): BareSession => ({ checkIns: 0, lastPain: null, lastOn: null }),
      storage: new RedisAdapter<BareSession>({ instance: redis }),
      getSessionKey: (ctx) => (ctx.chat ? `${prefix}${ctx.chat.id}` : undefined),
    }),
  );
  const markup = inlineKeyboard(template.reply.choices, template.reply.seq);
  bot.on(['callback_query:data', 'message:text'], async (ctx) => {
    const answer = ctx.callbackQuery?.data?.split(':')[1] ?? ctx.message?.text;
    ctx.session.checkIns++;
    ctx.session.lastPain = Number(answer);
    ctx.session.lastOn = template.today;
    if (tapWork && ctx.callbackQuery) {
      await ctx.answerCallbackQuery();
      await ctx.editMessageText(`${template.question.text}\n\n✓ ${answer}`);
    }
    await ctx.reply(template.reply.text, markup ? { reply_markup: markup } : {});
  });
  const handle = webhookCallback(bot, 'http', { secretToken: SECRET });
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== HOOK_PATH) {
      res.writeHead(404).end();
      return;
    }
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'baseline webhook failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    });
  });
  const port = await listen(server);
  res.own(server, (s) => new Promise((resolve) => s.close(resolve)));
  res.own(server, async (s) => s.closeAllConnections());

  return {
    name: tapWork ? 'A3. baseline with the tap’s three calls' : 'A. baseline',
    target: { replies, post: poster(res, port) },
    // A returning patient's bot already has a session: the read finds one, as in the pipeline.
    seed: (chats) =>
      inBatches(chats, (batch) =>
        redis.mset(
          ...batch.flatMap((chat) => [
            `${prefix}${chat}`,
            JSON.stringify({ checkIns: 0, lastPain: null, lastOn: null }),
          ]),
        ),
      ),
    stored: async (chats) => {
      let n = 0;
      await inBatches(chats, async (batch) => {
        for (const raw of await redis.mget(...batch.map((chat) => `${prefix}${chat}`))) {
          const s = raw === null ? null : (JSON.parse(raw) as BareSession);
          if (s?.checkIns === 1 && s.lastPain === PAIN) n++;
        }
      });
      return n;
    },
  };
}

/**
 * B. The service as deployed in webhook mode (all roles in this process): grammY's webhook with the
 * secret token, per-chat sequencing, the engine step in a WATCH/MULTI transaction with
 * de-duplication and audit, the question's message closed, the reply put on the BullMQ outbox and
 * sent by the delivery worker, which remembers the new question's message.
 */
async function pipeline(
  res: Resources,
  redisUrl: string,
  fake: FakeBotApi,
  template: Template,
  replies: Replies,
): Promise<Subject> {
  const redis = res.own(new Redis(redisUrl, { maxRetriesPerRequest: null }), (r) => r.quit());
  const prefix = `${runId}-p`;
  const config = loadConfig({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_WEBHOOK_URL: `https://bench.invalid${HOOK_PATH}`,
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    TELEGRAM_WEBHOOK_PORT: '0',
    REDIS_PREFIX: prefix,
    DELIVERY_CONCURRENCY: String(CONCURRENCY),
  });
  config.telegramRatePerSecond = DELIVERY_RATE;
  const service = res.own(await startService({ config, content: realContent(), redisUrl, log }), (s) =>
    s.stop(),
  );
  if (service.webhookPort === undefined) throw new Error('the service did not start its webhook');
  const outbox = res.own(new Queue(QUEUES.outbox, { connection: redis, prefix: `{${prefix}q}` }), (q) =>
    q.close(),
  );
  const keyPrefix = `${prefix}:`;

  // The store writes its own record format, so the seeded patients are stored exactly as the engine's
  // earlier steps would have left them. Transactions take turns per connection: several overlap.
  const seeders = Array.from(
    { length: SEED_CONNECTIONS },
    () =>
      new PatientStore(
        res.own(new Redis(redisUrl, { maxRetriesPerRequest: null }), (r) => r.quit()),
        {
          prefix: keyPrefix,
        },
      ),
  );
  const store = seeders[0] as PatientStore;
  const now = Date.now();

  return {
    name: 'B. pipeline',
    target: { replies, post: poster(res, service.webhookPort) },
    seed: (chats) =>
      inBatches(chats, async (batch) => {
        await Promise.all(
          batch.map((chat, i) => {
            const patientId = `tg:${chat}`;
            const seedEvent: InboundEvent = { id: 'bench-seed', patientId, kind: 'text', text: '' };
            const state: PatientState = { ...template.state, id: patientId };
            return (seeders[i % SEED_CONNECTIONS] as PatientStore).apply(
              seedEvent,
              () => ({ state, effects: [] }),
              now,
            );
          }),
        );
        // The message showing the pending question, remembered as the delivery worker would have.
        const tx = redis.pipeline();
        for (const chat of batch) {
          tx.hset(keysOf(`tg:${chat}`, keyPrefix).platform, `q${template.seq}`, String(QUESTION_MESSAGE_ID));
        }
        await tx.exec();
      }),
    stored: async (chats) => {
      let n = 0;
      await inBatches(chats, async (batch) => {
        const states = await Promise.all(batch.map((chat) => store.load(`tg:${chat}`)));
        for (const state of states) {
          if (state?.days.find((d) => d.date === template.today)?.pain === PAIN) n++;
        }
      });
      return n;
    },
    problems: async () => {
      const failed = (await outbox.getJobCounts('failed')).failed ?? 0;
      return failed > 0 ? `${failed} delivery jobs failed` : undefined;
    },
  };
}

// ---- the run --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const run = resources;
  const { url: redisUrl, redis } = await benchRedis(run, 'bench/inbound', runId);
  const replies = run.own(new Replies(), async (r) => r.stop());
  // One fake for both phases; each chat id is used once, so its counters tell the phases apart.
  const fake = run.own(
    await startFakeBotApi({ recordMessages: false, onDelivered: replies.delivered }),
    (f) => f.stop(),
  );
  const box = await machine(redis);
  const command = `npm run bench:inbound -- ${process.argv.slice(2).join(' ')}`.replace(/ -- $/, '');
  const template = patientTemplate(Date.now());
  say(
    `bench/inbound: ${ROUNDS} × ${fmt(UPDATES)} ${ANSWER === 'tap' ? 'tapped' : 'typed'} pain answers per phase (after ${fmt(WARMUP)} to warm up), ${CONCURRENCY} clients, then ${DURATION_S} s at half the rate`,
  );
  say(`machine: ${box.cpus} CPUs, ${fmt(box.memGiB, 1)} GiB, node ${box.node}, redis ${box.redis}`);

  // Both sides run side by side for the whole run, the idle one waiting: their closed-loop rounds
  // alternate (A B, B A, A B, …) so that load from elsewhere on a shared machine falls on both.
  const subjects: Subject[] = [];
  if (RUN_BASELINE) subjects.push(await baseline(run, redisUrl, fake, template, replies));
  if (RUN_FLOOR) subjects.push(await baseline(run, redisUrl, fake, template, replies, true));
  if (RUN_PIPELINE) subjects.push(await pipeline(run, redisUrl, fake, template, replies));
  say('\nA. baseline: a bare grammY webhook bot, its Redis session, one reply');
  if (RUN_FLOOR) say('A3. the same, also answering the tap and closing the question: three calls');
  say('B. pipeline: the service by webhook: engine, store, outbox, delivery worker');
  if (WARMUP > 0) {
    for (const subject of subjects) {
      await round(subject, template, 'warm-up', WARMUP, (u) => closedLoop(subject.target, u));
    }
  }
  const rounds = new Map<Subject, Throughput[]>(subjects.map((s) => [s, []]));
  for (let r = 1; r <= ROUNDS; r++) {
    for (const subject of r % 2 === 1 ? subjects : [...subjects].reverse()) {
      rounds.get(subject)?.push(await throughputRound(subject, template, fake, redis, r));
    }
  }

  interface Phase {
    subject: Subject;
    rounds: Throughput[];
    perSecond: number;
    /** The round with the median rate, for its CPU and latency figures. */
    typical: Throughput;
    rate: number;
    latency: Round;
  }
  const phases: Phase[] = [];
  for (const subject of subjects) {
    const done = rounds.get(subject) ?? [];
    const perSecond = median(done.map((t) => t.perSecond));
    const typical = done.reduce((x, y) =>
      Math.abs(y.perSecond - perSecond) < Math.abs(x.perSecond - perSecond) ? y : x,
    );
    const rate = perSecond / 2;
    const latency = await round(
      subject,
      template,
      'latency',
      Math.max(1, Math.round(rate * DURATION_S)),
      (u) => openLoop(subject.target, u, rate),
    );
    const sorted = latency.latencies.slice().sort();
    say(
      `   ${subject.name}, open loop at ${fmt(rate)}/s for ${fmt(latency.ms / 1000, 1)} s: p50 ${fmt(percentile(sorted, 0.5), 1)} ms, p99 ${fmt(percentile(sorted, 0.99), 1)} ms`,
    );
    const problems = await subject.problems?.();
    if (problems) throw new Error(`${subject.name}: ${problems}`);
    phases.push({ subject, rounds: done, perSecond, typical, rate, latency });
  }

  // Late duplicates would land after their round; give them a moment, then count every chat.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const perChat = [...fake.stats.deliveredPerChat.values()];
  const expected = phases.reduce((n, p) => n + WARMUP + ROUNDS * UPDATES + p.latency.count, 0);
  const doubled = perChat.filter((n) => n !== 1).length;
  if (replies.unexpected > 0 || doubled > 0 || perChat.length !== expected) {
    throw new Error(
      `replies: ${perChat.length} chats answered of ${expected}, ${doubled} more than once, ${replies.unexpected} unexpected messages`,
    );
  }

  const a = RUN_BASELINE ? phases[0] : undefined;
  const b = RUN_PIPELINE ? phases.at(-1) : undefined;
  // Each round's pair ran back to back, so its ratio is the one least touched by drifting load.
  const pairRatios = a && b ? a.rounds.map((x, i) => (b.rounds[i]?.perSecond ?? 0) / x.perSecond) : [];
  const ratio = pairRatios.length > 0 ? median(pairRatios) : undefined;
  const ms = (r: Round, p: number) => fmt(percentile(r.latencies.slice().sort(), p), 1);
  const a3 = RUN_FLOOR ? phases[1] : undefined;
  const roundRatio = (top: Phase, bottom: Phase) =>
    median(bottom.rounds.map((x, i) => (top.rounds[i]?.perSecond ?? 0) / x.perSecond));
  const floorNote =
    a && a3 && b
      ? [
          `- A3, the bare bot answering the tap and closing the question too (answerCallbackQuery, editMessageText, sendMessage): ${fmt(a3.perSecond)} updates/s (rounds ${a3.rounds.map((t) => fmt(t.perSecond)).join(' / ')}), p99 ${ms(a3.latency, 0.99)} ms at half its max. **A3/A = ${roundRatio(a3, a).toFixed(2)}**: the ceiling of B/A for any design that answers a tap with those three calls, with no engine, store or queue at all. B/A3 = ${roundRatio(b, a3).toFixed(2)}.`,
        ]
      : [];
  const cell = (phase: Phase | undefined, value: (p: Phase) => string) => (phase ? value(phase) : '–');
  const rows = [
    [
      `Check-in updates/s, closed loop, ${CONCURRENCY} clients (median of ${ROUNDS})`,
      cell(a, (p) => fmt(p.perSecond)),
      cell(b, (p) => fmt(p.perSecond)),
      ratio === undefined ? '–' : ratio.toFixed(2),
      ratio === undefined ? `≥ ${TARGET}` : `≥ ${TARGET}: ${ratio >= TARGET ? 'met' : '**missed**'}`,
    ],
    [
      'Each round, updates/s',
      cell(a, (p) => p.rounds.map((t) => fmt(t.perSecond)).join(' / ')),
      cell(b, (p) => p.rounds.map((t) => fmt(t.perSecond)).join(' / ')),
      pairRatios.map((x) => x.toFixed(2)).join(' / '),
      '',
    ],
    [
      'Open loop at half the max, updates/s',
      cell(a, (p) => fmt(p.rate)),
      cell(b, (p) => fmt(p.rate)),
      '',
      '',
    ],
    [
      'Latency p50 at half the max, ms',
      cell(a, (p) => ms(p.latency, 0.5)),
      cell(b, (p) => ms(p.latency, 0.5)),
      '',
      '',
    ],
    [
      'Latency p99 at half the max, ms',
      cell(a, (p) => ms(p.latency, 0.99)),
      cell(b, (p) => ms(p.latency, 0.99)),
      '',
      '',
    ],
    [
      'Latency p50 / p99 at the max (closed loop), ms',
      cell(a, (p) => `${ms(p.typical, 0.5)} / ${ms(p.typical, 0.99)}`),
      cell(b, (p) => `${ms(p.typical, 0.5)} / ${ms(p.typical, 0.99)}`),
      '',
      '',
    ],
  ];
  const report = [
    `Command: \`${command}\``,
    `Date: ${new Date().toISOString()}`,
    `Machine: nproc ${box.cpus} (${box.cpuModel}), ${fmt(box.memGiB, 1)} GiB RAM, node ${box.node}, redis-server ${box.redis}`,
    '',
    '| Measure | A. Baseline | B. Pipeline | Ratio B/A | Target |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `- Each update is a ${ANSWER === 'tap' ? 'tap on a pain button' : 'typed pain score'} from a patient seen once in the run. Per phase: ${fmt(WARMUP)} warm-up updates, then ${ROUNDS} rounds of ${fmt(UPDATES)} with ${CONCURRENCY} clients, alternating with the other phase; the ratio is the median of the rounds' B/A. Latency: from the POST (closed loop) or from when it was due (open loop, ${DURATION_S} s) to the reply accepted by the fake Bot API.`,
    ...phases.map(
      (p) =>
        `- ${p.subject.name}, median round: ${cpuText(p.typical.cpu)}; per update ${commandsText(p.typical.cpu, p.typical.count)} and Bot API calls ${p.typical.calls}. Open loop: ${fmt(p.latency.count)} updates in ${fmt(p.latency.ms / 1000, 1)} s, POSTs issued late by p99 ${fmt(p.latency.sendLagP99 ?? 0, 1)} ms.`,
    ),
    ...floorNote,
    `- Every update answered 200, every chat got exactly one reply, and each patient's check-in was stored (${fmt(expected)} in all).`,
    ...(b ? [`- B: DELIVERY_CONCURRENCY ${CONCURRENCY}, TELEGRAM_RATE_PER_SECOND ${DELIVERY_RATE}.`] : []),
  ].join('\n');
  say(`\n${report}`);
  if (args.out) writeFileSync(args.out, `${report}\n`);
}

await runBench('bench/inbound', main, () => resources.end());
