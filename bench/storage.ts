/**
 * bench/storage: Redis bytes per patient after 90 days of check-ins (target ≤ 3 KB), and whether that
 * cost stays flat from 10k to 100k patients (within 20 %).
 *
 *   npm run bench:storage -- [--patients 10] [--days 90] [--scale 10000,100000] [--caseload 250]
 *     [--seed 1] [--timeout-minutes 45] [--out FILE]
 *
 * The history is real: K patients onboard and check in day after day by taps through the whole service
 * (grammY polling a loopback fake Bot API, scheduler, timer and delivery workers) on a clock this script
 * moves. Their keys are then cloned with DUMP/RESTORE, so whatever encoding the store uses is copied
 * byte for byte, and the shared schedule is filled through ScheduleStore. A private redis-server is
 * required: used_memory is only exact when nothing else lives in the server. Results: docs/PERFORMANCE.md.
 */
import { writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { parseArgs } from 'node:util';
import { type JobType, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { QUEUES } from '../jobs/queues.ts';
import { ScheduleStore } from '../jobs/schedule-store.ts';
import type { Schedule } from '../src/engine/state.ts';
import { CoachStore } from '../src/runtime/coaches.ts';
import { loadConfig } from '../src/runtime/config.ts';
import { hasRedisServer, startPrivateRedis } from '../src/runtime/redis-server.ts';
import { type Service, startService } from '../src/runtime/service.ts';
import { keysOf, type PatientKeys, SEEN_LIMIT } from '../src/runtime/store.ts';
import { localDate, nextWallTime } from '../src/time/local.ts';
import { realContent } from '../test/support/content.ts';
import {
  type FakeBotApi,
  type PushedUpdate,
  type SentMessage,
  startFakeBotApi,
} from '../test/support/fake-bot-api.ts';
import { HEALTHY } from '../test/support/patient.ts';
import { seeded } from '../test/support/service.ts';
import { buttonsOf, TelegramChat } from '../test/support/telegram-chat.ts';
import { endAll, fmt, intFlag, machine, Resources, RunLimits, runBench, say, sleep } from './support.ts';

if (!hasRedisServer()) {
  process.stderr.write(
    'bench/storage needs redis-server on PATH: used_memory is only exact on a private server\n',
  );
  process.exit(1);
}

const { values: args } = parseArgs({
  options: {
    patients: { type: 'string', default: '10' },
    days: { type: 'string', default: '90' },
    scale: { type: 'string', default: '10000,100000' },
    caseload: { type: 'string', default: '250' },
    seed: { type: 'string', default: '1' },
    'timeout-minutes': { type: 'string', default: '45' },
    out: { type: 'string' },
  },
});
const int = (name: keyof typeof args, min = 1) => intFlag(args, name, min);
const K = int('patients');
const DAYS = int('days');
/** Patients per coach; 0: nobody joins with a coach's code. */
const CASELOAD = int('caseload', 0);
const SEED = int('seed', 0);
const SCALE = (args.scale ?? '')
  .split(',')
  .filter((s) => s.trim() !== '')
  .map(Number);
if (SCALE.some((n, i) => !Number.isInteger(n) || n <= K || n <= (SCALE[i - 1] ?? 0))) {
  throw new Error(`--scale: expected rising whole numbers above --patients (${K}), e.g. 10000,100000`);
}
const limits = new RunLimits(int('timeout-minutes'));

const TOKEN = '123:storage-bench';
const ZONE = 'Europe/Berlin';
const DRILL_TIME = '08:00';
/** Ten digits like today's Telegram user ids; clones keep the width, so every copy has the same size. */
const FIRST_CHAT = 1_000_000_001;
const FIRST_CLONE = 1_100_000_001;
/** Telegram's update ids are nine or ten digits, and they end up in the processed-ids set. */
const FIRST_UPDATE_ID = 700_000_001;
const FIRST_COACH = 900_000_001;
/** A Monday, 07:00 in Berlin: onboarding, then the first push at 08:00 the same day. */
const START = Date.parse('2026-04-06T05:00:00Z');
const BATCH = 1000;
/** Patients copied per pipeline: a few hundred keep one pipeline's payloads within tens of MB. */
const COPY_BATCH = 250;
const REPLY_TIMEOUT_MS = 30_000;
const BUSY: JobType[] = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'];
const DAY_SECONDS = 86_400;

const log = pino({ level: 'warn' });
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => (xs.length === 0 ? 0 : sum(xs) / xs.length);

// The checkpoints only catch a deadline where the script waits; a hung clean-up must not keep it alive.
setTimeout(
  () => {
    process.stderr.write(
      'bench/storage: --timeout-minutes passed a minute ago and it has not stopped: exiting\n',
    );
    process.exit(1);
  },
  limits.deadline - Date.now() + 60_000,
).unref();

// ---- patients in a Telegram chat --------------------------------------------------------------

const hasButton = (m: SentMessage, value: string | number) =>
  buttonsOf(m).some((b) => b.callback_data?.endsWith(`:${value}`));

/**
 * What the fake received, sorted into chats. The fake keeps every message, so it is cleared between
 * days (when nothing is in flight) to keep each look cheap.
 */
class Chats {
  private cursor = 0;
  private readonly boxes = new Map<string, SentMessage[]>();

  constructor(private readonly fake: FakeBotApi) {}

  inbox(chatId: string): SentMessage[] {
    const box = this.boxes.get(chatId) ?? [];
    this.boxes.set(chatId, box);
    return box;
  }

  pull(): void {
    const all = this.fake.messages();
    for (let i = this.cursor; i < all.length; i++) {
      const m = all[i] as SentMessage;
      if (m.method === 'sendMessage' || m.method === 'sendPhoto') this.inbox(m.chatId).push(m);
    }
    this.cursor = all.length;
  }

  clear(): void {
    this.fake.resetStats();
    this.cursor = 0;
    for (const box of this.boxes.values()) box.length = 0;
  }
}

let nextUpdateId = FIRST_UPDATE_ID;

interface DayPlan {
  respond: 'morning' | 'evening' | 'never';
  outcome: 'done' | 'partly' | 'skipped';
  pain: number;
  difficulty: 'too_easy' | 'about_right' | 'too_hard';
  painDuring: 'none' | 'mild' | 'moderate';
}

class Patient {
  readonly id: string;
  readonly baseline: number;
  private readonly telegram: TelegramChat;

  constructor(
    readonly chatId: number,
    private readonly chats: Chats,
    private readonly fake: FakeBotApi,
    private readonly rnd: () => number,
  ) {
    this.id = `tg:${chatId}`;
    this.baseline = 3 + Math.floor(rnd() * 4);
    this.telegram = new TelegramChat(chatId);
  }

  private get inbox(): SentMessage[] {
    return this.chats.inbox(String(this.chatId));
  }

  mark(): number {
    this.chats.pull();
    return this.inbox.length;
  }

  /** Waits for a message since `from` that `done` accepts. */
  async expect(from: number, what: string, done: (m: SentMessage) => boolean): Promise<void> {
    const started = Date.now();
    for (;;) {
      this.chats.pull();
      if (this.inbox.slice(from).some(done)) return;
      limits.check(`chat ${this.chatId} waiting for ${what}`);
      if (Date.now() - started > REPLY_TIMEOUT_MS) {
        const last = this.inbox.at(-1)?.text?.slice(0, 120);
        throw new Error(`chat ${this.chatId} got no ${what} in 30 s; last message: ${JSON.stringify(last)}`);
      }
      await sleep(10);
    }
  }

  private async send(update: PushedUpdate, until: RegExp | undefined): Promise<void> {
    const from = this.mark();
    this.fake.pushUpdate({ ...update, update_id: nextUpdateId++ });
    await this.expect(from, until ? `a message matching ${until}` : 'the next question', (m) =>
      until ? until.test(m.text ?? '') : buttonsOf(m).length > 0,
    );
  }

  say(text: string, until?: RegExp): Promise<void> {
    return this.send(this.telegram.messageUpdate(text), until);
  }

  /** Taps the newest button with this value, as a person would. */
  tap(value: string | number, until?: RegExp): Promise<void> {
    const message = [...this.inbox].reverse().find((m) => hasButton(m, value));
    if (!message) {
      throw new Error(`chat ${this.chatId} has no button ${value} to tap; last: ${this.inbox.at(-1)?.text}`);
    }
    return this.send(this.telegram.tapUpdate(message, value), until);
  }

  /**
   * Mostly done in the morning, sometimes only after the evening reminder or not at all; pain at or a
   * little below baseline with the odd flare-up. Always five draws, so a seed gives the same history.
   */
  plan(): DayPlan {
    const r = this.rnd();
    const o = this.rnd();
    const p = this.rnd();
    const d = this.rnd();
    const e = this.rnd();
    const flare = p < 0.06;
    const pain = flare
      ? this.baseline + 2 + Math.floor(p * 33)
      : this.baseline - (p < 0.5 ? 0 : p < 0.85 ? 1 : 2);
    return {
      respond: r < 0.8 ? 'morning' : r < 0.96 ? 'evening' : 'never',
      outcome: o < 0.78 ? 'done' : o < 0.9 ? 'partly' : 'skipped',
      pain: Math.max(0, Math.min(10, pain)),
      difficulty: d < 0.72 ? 'about_right' : d < 0.97 ? 'too_easy' : 'too_hard',
      painDuring: flare ? (e < 0.5 ? 'mild' : 'moderate') : e < 0.8 ? 'none' : 'mild',
    };
  }

  async onboard(start: string): Promise<void> {
    const a = HEALTHY;
    await this.say(start);
    await this.tap('yes');
    for (const v of a.emergency) await this.tap(v);
    await this.tap(a.age);
    for (const v of a.clinician) await this.tap(v);
    await this.say(String(this.baseline));
    for (const v of a.startBack) await this.tap(v);
    for (const v of [a.sideLeft, a.sideRight, a.stance, 'yes', 'no', 'no', DRILL_TIME, ZONE])
      await this.tap(v);
    await this.tap('none', /All set!/);
  }

  /** The morning push; on the weekly safety-check days its three questions come first. */
  async takePush(from: number): Promise<void> {
    await this.expect(from, 'the day’s push', (m) => hasButton(m, 'done') || hasButton(m, 'no'));
    for (let i = 0; i < 5 && !this.newestAsks('done'); i++) await this.tap('no');
    if (!this.newestAsks('done')) throw new Error(`chat ${this.chatId}: no session after the safety check`);
  }

  private newestAsks(value: string): boolean {
    const newest = [...this.inbox].reverse().find((m) => buttonsOf(m).length > 0);
    return newest !== undefined && hasButton(newest, value);
  }

  async checkIn(plan: DayPlan): Promise<void> {
    await this.tap(plan.outcome);
    if (plan.outcome === 'skipped') return this.tap(plan.pain, /Thanks for checking in/);
    await this.tap(plan.pain);
    await this.tap(plan.difficulty);
    await this.tap(plan.painDuring, /Thanks for checking in/);
  }
}

// ---- measuring ----------------------------------------------------------------------------------

interface KeyFacts {
  key: string;
  type: string;
  bytes: number;
  elements: number;
  /** Remaining TTL in ms, or -1 without one. */
  pttl: number;
}

const COUNT_BY_TYPE: Record<string, string> = {
  string: 'strlen',
  hash: 'hlen',
  zset: 'zcard',
  set: 'scard',
  list: 'llen',
  stream: 'xlen',
};

/** MEMORY USAGE with SAMPLES 0 (every element counted), the type, element count and TTL of each key. */
async function factsOf(redis: Redis, keys: readonly string[]): Promise<Map<string, KeyFacts>> {
  const out = new Map<string, KeyFacts>();
  for (let i = 0; i < keys.length; i += BATCH) {
    const batch = keys.slice(i, i + BATCH);
    const tx = redis.pipeline();
    for (const key of batch) tx.call('MEMORY', 'USAGE', key, 'SAMPLES', '0').type(key).pttl(key);
    const replies = (await tx.exec()) ?? [];
    const counts = redis.pipeline();
    const present: KeyFacts[] = [];
    batch.forEach((key, j) => {
      const [bytes, type, pttl] = [0, 1, 2].map((k) => replies[j * 3 + k]?.[1]);
      if (type === 'none' || bytes === null) return;
      const facts = { key, type: String(type), bytes: Number(bytes), elements: 0, pttl: Number(pttl) };
      const command = COUNT_BY_TYPE[facts.type];
      if (command) counts.call(command, key);
      else counts.call('EXISTS', key);
      present.push(facts);
    });
    const countReplies = (await counts.exec()) ?? [];
    present.forEach((facts, j) => {
      facts.elements = Number(countReplies[j]?.[1] ?? 0);
      out.set(facts.key, facts);
    });
  }
  return out;
}

async function scanAll(redis: Redis, match = '*'): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    keys.push(...page);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** used_memory once two readings 200 ms apart agree (background rehashing has settled). */
async function usedMemory(redis: Redis): Promise<number> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    const n = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    if (n === last) return n;
    last = n;
    await sleep(200);
  }
  return last;
}

/** BullMQ's per-queue structures, by the last part of their key, and the outbox's `pace` (SendPacer). */
const QUEUE_STRUCTURES = new Set([
  'id',
  'meta',
  'events',
  'completed',
  'failed',
  'wait',
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'paused',
  'pc',
  'marker',
  'limiter',
  'pace',
  'stalled',
  'stalled-check',
  'waiting-children',
  'repeat',
  'metrics',
]);
/** Structures that do not grow with jobs or patients (BullMQ caps the event stream). */
const FIXED_STRUCTURES = new Set([
  'events',
  'meta',
  'id',
  'stalled-check',
  'limiter',
  'pace',
  'marker',
  'pc',
]);
/** Structures that grow with the finished jobs kept, and go with them. */
const JOB_STRUCTURES = new Set(['completed', 'failed']);

interface PartFacts {
  keys: number;
  bytes: number;
  /** The longest remaining TTL among the part's keys (ms), -1 when none has one. */
  maxPttl: number;
}

/**
 * Each queue's keys by part: `job` (job hashes), `job:<sub>` (a job's lock, logs), a structure, or a
 * family of keys of the form `<name>:<id>` (e.g. an idempotency key per message), named `<name>:*`.
 */
type QueueSnapshot = Map<string, Map<string, PartFacts>>;

async function queueSnapshot(redis: Redis, queuePrefix: string): Promise<QueueSnapshot> {
  const facts = await factsOf(redis, await scanAll(redis, `${queuePrefix}:*`));
  const out: QueueSnapshot = new Map();
  for (const f of facts.values()) {
    const [queue = '?', first = '', ...rest] = f.key.slice(queuePrefix.length + 1).split(':');
    const isJob = (id: string) => facts.get(`${queuePrefix}:${queue}:${id}`)?.type === 'hash';
    const part =
      rest.length === 0
        ? QUEUE_STRUCTURES.has(first)
          ? first
          : f.type === 'hash'
            ? 'job'
            : first
        : isJob(first)
          ? `job:${rest.join(':')}`
          : `${first}:*`;
    const parts = out.get(queue) ?? new Map<string, PartFacts>();
    const p = parts.get(part) ?? { keys: 0, bytes: 0, maxPttl: -1 };
    p.keys++;
    p.bytes += f.bytes;
    p.maxPttl = Math.max(p.maxPttl, f.pttl);
    parts.set(part, p);
    out.set(queue, parts);
  }
  return out;
}

const jobBound = (part: string) => part === 'job' || part.startsWith('job:') || JOB_STRUCTURES.has(part);

// ---- the run ------------------------------------------------------------------------------------

/** A patient's key class: a field of keysOf, or another key named after the patient (id → <patient>). */
type KeyClass = { name: string; own: boolean; keyFor: (patientId: string) => string };

interface History {
  patients: Patient[];
  classes: KeyClass[];
  facts: Map<string, KeyFacts>;
  afterOnboarding: Map<string, KeyFacts>;
  shared: Map<string, KeyFacts>;
  queues: { onboarded: QueueSnapshot; end: QueueSnapshot; retention: Map<string, unknown> };
  schedules: Map<string, Schedule>;
  now: number;
  realMinutes: number;
  /** Taps and messages per patient per simulated day. */
  updatesPerPatientDay: number;
  keyPrefix: string;
  queuePrefix: string;
  coachIds: string[];
}

async function history(redisUrl: string, redis: Redis): Promise<History> {
  const res = new Resources(log);
  const started = Date.now();
  const fake = res.own(await startFakeBotApi({ token: TOKEN }), (f) => f.stop());
  const coachIds = CASELOAD > 0 ? [`tg:${FIRST_COACH}`] : [];
  const config = loadConfig({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_RATE_PER_SECOND: '1000',
    // Its patients answer at once: a chat's gap between deliveries would hold each reply a second.
    TELEGRAM_CHAT_GAP_MS: '0',
    ...(coachIds.length > 0 ? { COACHES: coachIds.map((id) => `${id}@${ZONE}`).join(',') } : {}),
  });
  // The deployment's default prefix, so key names are as long as in production.
  const keyPrefix = `${config.redisPrefix}:`;
  // How service.ts names BullMQ's keys; checked below against what the service really wrote.
  const queuePrefix = `{${config.redisPrefix}q}`;
  const clock = { now: START };
  res.own(
    await startService({
      config,
      content: realContent(),
      redisUrl,
      log,
      clock: () => clock.now,
      tickMs: 20,
      maintenance: false, // node-cron keeps real time, not this clock
    }),
    (s: Service) => s.stop(),
  );
  const queueConnection = res.own(new Redis(redisUrl, { maxRetriesPerRequest: null }), (c) => c.quit());
  const queues = [QUEUES.timers, QUEUES.outbox].map((name) =>
    res.own(new Queue(name, { connection: queueConnection, prefix: queuePrefix }), (q) => q.close()),
  );
  const schedules = new ScheduleStore(redis, keyPrefix);
  const coaches = new CoachStore(redis, keyPrefix, config.coaches);
  const code = coachIds[0] ? await coaches.codeOf(coachIds[0]) : undefined;
  if (coachIds.length > 0 && !code) throw new Error('the configured coach got no invite code');

  /** Nothing due, no job waiting or running: everything the last clock move or tap caused is done. */
  const settle = (what: string) =>
    limits.waitUntil(
      what,
      async () => {
        const due = (await schedules.due(clock.now, BATCH)).entries.length;
        let busy = 0;
        for (const queue of queues) {
          const counts = await queue.getJobCounts(...BUSY, 'failed');
          if ((counts.failed ?? 0) > 0) throw new Error(`${queue.name}: ${counts.failed} jobs failed`);
          busy += sum(BUSY.map((t) => counts[t] ?? 0));
        }
        return due + busy;
      },
      (n) => n === 0,
      // The simulated clock moves a day at a time: each look costs the run its wait.
      { pollMs: 20 },
    );

  const chats = new Chats(fake);
  const random = seeded(SEED + 1);
  const patients = Array.from({ length: K }, (_, i) => new Patient(FIRST_CHAT + i, chats, fake, random));
  say(`onboarding ${K} patients …`);
  await Promise.all(patients.map((p) => p.onboard(code ? `/start ${code}` : '/start')));
  await settle('onboarding');
  const scheduleOf = await schedules.schedulesOf(patients.map((p) => p.id));
  const reminderTime = scheduleOf.get(patients[0]?.id ?? '')?.reminderTime;
  if (scheduleOf.size !== K || !reminderTime) throw new Error('onboarded patients have no schedule');
  const onboardedQueues = await queueSnapshot(redis, queuePrefix);
  if (![...onboardedQueues.values()].some((parts) => (parts.get('job')?.keys ?? 0) > 0)) {
    throw new Error(`no BullMQ jobs under ${queuePrefix}: the service names its queues differently now`);
  }
  const ownKeys = (p: Patient) => Object.values(keysOf(p.id, keyPrefix)) as string[];
  const afterOnboarding = await factsOf(redis, patients.flatMap(ownKeys));

  say(`${DAYS} days of check-ins …`);
  const dayStarted = Date.now();
  const firstDailyUpdate = nextUpdateId;
  for (let d = 1; d <= DAYS; d++) {
    chats.clear();
    const plans = patients.map((p) => p.plan());
    clock.now = nextWallTime(clock.now, DRILL_TIME, ZONE) + 1000;
    await Promise.all(
      patients.map(async (p, i) => {
        await p.takePush(0);
        const plan = plans[i] as DayPlan;
        if (plan.respond === 'morning') await p.checkIn(plan);
      }),
    );
    await settle(`day ${d}, morning`);
    // The clock passes the reminder every day: those who answered get nothing, the others a nudge.
    const marks = patients.map((p) => p.mark());
    clock.now = nextWallTime(clock.now, reminderTime, ZONE) + 1000;
    await Promise.all(
      patients.map(async (p, i) => {
        const plan = plans[i] as DayPlan;
        if (plan.respond === 'morning') return;
        await p.expect(marks[i] ?? 0, 'the evening reminder', (m) => hasButton(m, 'done'));
        if (plan.respond === 'evening') await p.checkIn(plan);
      }),
    );
    await settle(`day ${d}, evening`);
    if (d % 10 === 0 || d === DAYS) {
      const perDay = (Date.now() - dayStarted) / d / 1000;
      process.stderr.write(
        `   … day ${d} of ${DAYS} (${localDate(clock.now, ZONE)}), ${fmt(perDay, 2)} s a day\n`,
      );
    }
  }

  // What the queues say about how long they keep finished jobs, from the jobs themselves.
  const retention = new Map<string, unknown>();
  for (const queue of queues) {
    const [job] = await queue.getJobs(['completed'], 0, 0, false);
    // None kept at all (timers due together run in batches removed when done): null.
    retention.set(queue.name, job ? job.opts.removeOnComplete : null);
  }
  await res.end(); // the service stops: only this script's connection is left for the measurements

  const all = await scanAll(redis);
  const facts = await factsOf(redis, all);
  const byPatient = new Map<string, Patient>();
  for (const p of patients) byPatient.set(p.id, p);
  const classes = new Map<string, KeyClass>();
  const first = patients[0] as Patient;
  for (const [name, key] of Object.entries(keysOf(first.id, keyPrefix) as PatientKeys)) {
    classes.set(key, { name, own: true, keyFor: (id) => keysOf(id, keyPrefix)[name as keyof PatientKeys] });
  }
  const shared = new Map<string, KeyFacts>();
  const named = /tg:\d+/g;
  for (const f of facts.values()) {
    if (f.key.startsWith(queuePrefix)) continue;
    const owner = [...f.key.matchAll(named)].map((m) => m[0]).find((id) => byPatient.has(id));
    if (owner === undefined) {
      shared.set(f.key, f);
      continue;
    }
    const template = f.key.split(owner).join('<patient>');
    const own = Object.values(keysOf(owner, keyPrefix)).includes(f.key);
    if (!own && !classes.has(template)) {
      classes.set(template, {
        name: template,
        own: false,
        keyFor: (id) => template.split('<patient>').join(id),
      });
    }
  }
  const end = await queueSnapshot(redis, queuePrefix);
  return {
    patients,
    classes: [...classes.values()],
    facts,
    afterOnboarding,
    shared,
    queues: { onboarded: onboardedQueues, end, retention },
    schedules: scheduleOf,
    now: clock.now,
    realMinutes: (Date.now() - started) / 60_000,
    updatesPerPatientDay: (nextUpdateId - firstDailyUpdate) / K / DAYS,
    keyPrefix,
    queuePrefix,
    coachIds,
  };
}

interface ScalePoint {
  patients: number;
  usedMemory: number;
  /** MEMORY USAGE of each shared key at this size. */
  shared: Map<string, KeyFacts>;
  seconds: number;
}

/** Copies of the K patients up to each size in SCALE, measured after each step. */
async function scale(redis: Redis, h: History, base: ScalePoint): Promise<ScalePoint[]> {
  const dumps: {
    keys: { keyFor: (id: string) => string; ttl: number; payload: Buffer }[];
    schedule: Schedule;
  }[] = [];
  for (const p of h.patients) {
    const keys: { keyFor: (id: string) => string; ttl: number; payload: Buffer }[] = [];
    for (const c of h.classes) {
      const key = c.keyFor(p.id);
      const payload = await redis.dumpBuffer(key);
      if (payload === null) continue;
      const ttl = await redis.pttl(key);
      keys.push({ keyFor: c.keyFor, ttl: Math.max(0, ttl), payload });
    }
    const schedule = h.schedules.get(p.id);
    if (!schedule) throw new Error(`patient ${p.id} has no schedule to copy`);
    dumps.push({ keys, schedule });
  }
  const schedules = new ScheduleStore(redis, h.keyPrefix);
  const coaches = new CoachStore(redis, h.keyPrefix, []);
  const points: ScalePoint[] = [];
  let have = K;
  for (const target of SCALE) {
    const started = Date.now();
    let batches = 0;
    for (let start = have; start < target; start += COPY_BATCH) {
      limits.check(`copying patients to ${fmt(target)}`);
      const indices = Array.from({ length: Math.min(COPY_BATCH, target - start) }, (_, i) => start + i);
      const tx = redis.pipeline();
      for (const j of indices) {
        const id = `tg:${FIRST_CLONE + j}`;
        for (const k of (dumps[j % K] as (typeof dumps)[number]).keys)
          tx.restore(k.keyFor(id), k.ttl, k.payload);
      }
      const failed = ((await tx.exec()) ?? []).find(([error]) => error !== null);
      if (failed) throw new Error(`RESTORE failed: ${failed[0]?.message}`);
      await Promise.all(
        indices.map(async (j) => {
          const id = `tg:${FIRST_CLONE + j}`;
          await schedules.set(id, (dumps[j % K] as (typeof dumps)[number]).schedule, h.now);
          // Spread over coaches of CASELOAD patients each, as rosters are in practice, not all on one.
          if (CASELOAD > 0) await coaches.addToRoster(`tg:${FIRST_COACH + 1 + Math.floor(j / CASELOAD)}`, id);
        }),
      );
      if (++batches % 80 === 0) process.stderr.write(`   … ${fmt(start + indices.length)} patients\n`);
    }
    have = target;
    const used = await usedMemory(redis);
    const shared = await factsOf(redis, await sharedKeys(redis, h));
    points.push({ patients: target, usedMemory: used, shared, seconds: (Date.now() - started) / 1000 });
    const prev = points.at(-2) ?? base;
    say(
      `   ${fmt(target)} patients: used_memory ${fmt(used)} B, ${fmt((used - base.usedMemory) / (target - K))} B per added patient (${fmt((used - prev.usedMemory) / (target - prev.patients))} B since ${fmt(prev.patients)})`,
    );
  }
  return points;
}

/** The shared keys of the history plus the coaches the copies were spread over. */
async function sharedKeys(redis: Redis, h: History): Promise<string[]> {
  const coachKeys = CASELOAD > 0 ? await scanAll(redis, `${h.keyPrefix}coach:*`) : [];
  return [...new Set([...h.shared.keys(), ...coachKeys])];
}

const describeRetention = (r: unknown): string =>
  r === null
    ? 'none kept'
    : r === undefined || r === false
      ? 'kept for ever'
      : r === true
        ? 'removed at once'
        : typeof r === 'number'
          ? `the last ${r} per queue`
          : JSON.stringify(r);

interface Retained {
  /** Time-averaged bytes per patient, the figure to add to the per-patient cost. */
  bytes: number;
  /** Right after the morning fan-out, when a whole day's items may all still be kept. */
  peak: number;
  how: string;
}

/**
 * What a queue's finished jobs cost per patient once retention has caught up: jobs per patient per
 * simulated day × the window their removeOnComplete keeps them (or the count cap shared by all
 * patients, whichever keeps fewer) × bytes per job.
 */
function retainedJobs(r: unknown, perPatientDay: number, bytesPerJob: number, patients: number): Retained {
  if (r === true) return { bytes: 0, peak: 0, how: 'removed on completion' };
  if (r === null) return { bytes: 0, peak: 0, how: 'no finished job kept after the run' };
  const keep = typeof r === 'number' ? { count: r } : (r as { age?: number; count?: number } | undefined);
  if (keep?.age === undefined && keep?.count === undefined) {
    const perDay = perPatientDay * bytesPerJob;
    return { bytes: Infinity, peak: Infinity, how: `never removed: +${fmt(perDay)} B per patient per day` };
  }
  const windowDays = keep.age === undefined ? Infinity : keep.age / DAY_SECONDS;
  const capped = keep.count === undefined ? Infinity : keep.count / patients;
  if (perPatientDay === 0) return { bytes: 0, peak: 0, how: 'no jobs in the daily phase' };
  const jobs = Math.min(perPatientDay * windowDays, capped);
  const peakJobs = Math.min(perPatientDay * Math.max(1, windowDays), capped);
  const how =
    perPatientDay * windowDays <= capped
      ? `${fmt(perPatientDay, 2)} jobs/patient/day × ${fmt(windowDays, 3)} d × ${fmt(bytesPerJob)} B`
      : `count cap ${fmt(keep.count ?? 0)} ÷ ${fmt(patients)} patients × ${fmt(bytesPerJob)} B`;
  return { bytes: jobs * bytesPerJob, peak: peakJobs * bytesPerJob, how };
}

/** The same for keys that expire by their own TTL: keys per patient per day × TTL × bytes per key. */
function retainedByTtl(maxPttl: number, perPatientDay: number, bytesPerKey: number): Retained {
  if (maxPttl < 0) {
    const perDay = perPatientDay * bytesPerKey;
    return { bytes: Infinity, peak: Infinity, how: `no TTL: +${fmt(perDay)} B per patient per day` };
  }
  const windowDays = maxPttl / 86_400_000;
  return {
    bytes: perPatientDay * windowDays * bytesPerKey,
    peak: perPatientDay * Math.max(1, windowDays) * bytesPerKey,
    how: `${fmt(perPatientDay, 2)} keys/patient/day × TTL ${fmt(windowDays, 3)} d × ${fmt(bytesPerKey)} B`,
  };
}

async function main(): Promise<void> {
  const run = new Resources(log);
  const server = run.own(await startPrivateRedis(), (s) => s.stop());
  const redis = run.own(new Redis(server.url, { maxRetriesPerRequest: null }), (r) => r.quit());
  const box = await machine(redis);
  const command = `npm run bench:storage -- ${process.argv.slice(2).join(' ')}`.replace(/ -- $/, '');
  say(
    `bench/storage: ${K} patients × ${DAYS} days, then copies to ${SCALE.map((n) => fmt(n)).join(' and ')}`,
  );
  say(`machine: ${box.cpus} CPUs, ${fmt(box.memGiB, 1)} GiB, node ${box.node}, redis-server ${box.redis}`);

  const h = await history(server.url, redis);
  const p0 = h.patients[0] as Patient;
  const perClass = h.classes.map((c) => {
    const fs = h.patients.map((p) => h.facts.get(c.keyFor(p.id)));
    const before = h.patients.map((p) => h.afterOnboarding.get(c.keyFor(p.id))?.bytes ?? 0);
    const bytes = fs.map((f) => f?.bytes ?? 0);
    const present = fs.filter((f): f is KeyFacts => f !== undefined);
    const ttls = present.map((f) => f.pttl).filter((t) => t >= 0);
    return {
      c,
      present: present.length,
      type: [...new Set(present.map((f) => f.type))].join('/') || '—',
      elements: mean(present.map((f) => f.elements)),
      bytes: mean(bytes),
      min: Math.min(...bytes),
      max: Math.max(...bytes),
      perDay: c.own ? (mean(bytes) - mean(before)) / DAYS : undefined,
      valuePerDay:
        (mean(present.map((f) => f.elements)) -
          mean(h.patients.map((p) => h.afterOnboarding.get(c.keyFor(p.id))?.elements ?? 0))) /
        DAYS,
      ttlDays: ttls.length > 0 ? mean(ttls) / 86_400_000 : undefined,
    };
  });
  const ownBytes = sum(perClass.filter((r) => r.c.own).map((r) => r.bytes));
  const extraBytes = sum(perClass.filter((r) => !r.c.own).map((r) => r.bytes));

  // Every connection costs used_memory, so the steps are measured with this script's alone.
  await limits.waitUntil(
    'the service’s connections to close',
    async () =>
      String(await redis.client('LIST'))
        .trim()
        .split('\n').length,
    (n) => n === 1,
    { pollMs: 20 },
  );
  const base: ScalePoint = {
    patients: K,
    usedMemory: await usedMemory(redis),
    shared: await factsOf(redis, await sharedKeys(redis, h)),
    seconds: 0,
  };
  const estimate = ((ownBytes + extraBytes) * 1.5 + 400) * (SCALE.at(-1) ?? 0);
  if (estimate > freemem() * 0.8) {
    throw new Error(
      `copying to ${fmt(SCALE.at(-1) ?? 0)} patients needs about ${fmt(estimate / 2 ** 30, 1)} GiB, more than this machine has free: lower --scale`,
    );
  }
  say(`copying the ${K} patients with DUMP/RESTORE …`);
  const points = await scale(redis, h, base);

  // ---- figures ----
  const perPatient = (pt: ScalePoint) => (pt.usedMemory - base.usedMemory) / (pt.patients - K);
  const last = points.at(-1) as ScalePoint;
  const firstPoint = points[0] as ScalePoint;
  const headline = perPatient(last);
  const ratio = perPatient(last) / perPatient(firstPoint);
  // Shared keys that grew with the copies, grouped by name with coach ids left out (one coach per caseload).
  const sharedShare = (pt: ScalePoint) => {
    const groups = new Map<
      string,
      { type: string; keys: number; bytes: number; before: number; elements: number }
    >();
    for (const f of pt.shared.values()) {
      const before = base.shared.get(f.key)?.bytes ?? 0;
      if (f.bytes === before) continue;
      const name = f.key.replace(h.keyPrefix, '…').replace(/tg:\d+/g, '<coach>');
      const g = groups.get(name) ?? { type: f.type, keys: 0, bytes: 0, before: 0, elements: 0 };
      g.keys++;
      g.bytes += f.bytes;
      g.before += before;
      g.elements += f.elements;
      groups.set(name, g);
    }
    return [...groups].map(([name, g]) => ({ name, ...g }));
  };
  const sharedDelta = (pt: ScalePoint) =>
    sum(sharedShare(pt).map((s) => s.bytes - s.before)) / (pt.patients - K);
  const crossCheck = (pt: ScalePoint) => ownBytes + extraBytes + sharedDelta(pt);
  const TARGET = 3072;

  // Queue retention, from what the daily phase added: per patient per simulated day, per job or key.
  const growth = (queue: string, part: string) => {
    const end = h.queues.end.get(queue)?.get(part) ?? { keys: 0, bytes: 0, maxPttl: -1 };
    const onb = h.queues.onboarded.get(queue)?.get(part) ?? { keys: 0, bytes: 0, maxPttl: -1 };
    return { end, keys: end.keys - onb.keys, bytes: end.bytes - onb.bytes };
  };
  const queueRowsAt = (patients: number) =>
    [...h.queues.end.keys()].sort().flatMap((queue) => {
      const parts = [...(h.queues.end.get(queue) ?? new Map<string, PartFacts>()).keys()];
      const jobs = growth(queue, 'job');
      const jobBytes = sum(parts.filter(jobBound).map((p) => growth(queue, p).bytes));
      const perJob = jobs.keys > 0 ? jobBytes / jobs.keys : 0;
      const perPatientDay = jobs.keys / K / DAYS;
      const retention = h.queues.retention.get(queue);
      const rows = [
        {
          what: `${queue} jobs`,
          kept: jobs.end.keys,
          now: sum(parts.filter(jobBound).map((p) => growth(queue, p).end.bytes)) / K,
          perPatientDay,
          unit: perJob,
          window: describeRetention(retention),
          r: retainedJobs(retention, perPatientDay, perJob, patients),
        },
      ];
      for (const part of parts.filter((p) => !jobBound(p) && !FIXED_STRUCTURES.has(p))) {
        const g = growth(queue, part);
        if (g.bytes <= 0) continue;
        const perDay = g.keys / K / DAYS;
        const perKey = g.keys > 0 ? g.bytes / g.keys : g.bytes;
        rows.push({
          what: `${queue} \`${part}\``,
          kept: g.end.keys,
          now: g.end.bytes / K,
          perPatientDay: perDay,
          unit: perKey,
          window: g.end.maxPttl >= 0 ? `TTL ${fmt(g.end.maxPttl / 60_000, 1)} min` : 'no TTL',
          r: retainedByTtl(g.end.maxPttl, perDay, perKey),
        });
      }
      return rows;
    });
  const queueRows = queueRowsAt(last.patients);
  const fixedQueueBytes = sum(
    [...h.queues.end.values()].flatMap((parts) =>
      [...parts].filter(([p]) => FIXED_STRUCTURES.has(p)).map(([, f]) => f.bytes),
    ),
  );
  const queueNow =
    sum([...h.queues.end.values()].flatMap((parts) => [...parts.values()].map((f) => f.bytes))) / K;
  const queueSteady = sum(queueRows.map((q) => q.r.bytes));
  const queueSteadyAt = (pt: ScalePoint) => sum(queueRowsAt(pt.patients).map((q) => q.r.bytes));
  const queuePeak = sum(queueRows.map((q) => q.r.peak));

  const ok = (pass: boolean) => (pass ? 'met' : 'missed');
  const b = (n: number) => `${fmt(n)} B`;
  const classRows = perClass.map((r) => {
    const notes: string[] = [];
    if (r.present < K) notes.push(`present for ${r.present} of ${K}`);
    if (r.c.name === 'seen') notes.push(`ids of recent events (the store keeps at most ${fmt(SEEN_LIMIT)})`);
    // A string's allocation moves in allocator size classes, so its length shows the growth better.
    const growth = r.type === 'string' ? r.valuePerDay : r.perDay;
    if (r.c.own && growth !== undefined && growth >= 1) {
      const what = r.type === 'string' ? 'value' : 'MEMORY USAGE';
      notes.push(`${what} +${fmt(growth)} B a day since onboarding`);
    }
    if (r.type === 'string') notes.push(`${fmt(r.elements)} B value in a ${fmt(r.bytes)} B allocation`);
    if (r.ttlDays !== undefined) notes.push(`TTL ${fmt(r.ttlDays, 1)} d left`);
    const label = r.c.own ? `\`${r.c.name}\`` : `\`${r.c.name.replace(h.keyPrefix, '…')}\` (not in keysOf)`;
    return `| ${label} | ${r.type} | ${fmt(r.elements)} | ${fmt(r.bytes)} | ${fmt(r.min)}–${fmt(r.max)} | ${notes.join('; ')} |`;
  });
  const sharedRows = sharedShare(last).map(
    (g) =>
      `| \`${g.name}\` (shared) | ${g.type} | ${fmt(g.elements / last.patients, 2)} | ${fmt((g.bytes - g.before) / (last.patients - K))} | | share of ${fmt(g.keys)} key(s) holding ${fmt(g.elements)} elements, ${fmt(g.bytes)} B at ${fmt(last.patients)} patients |`,
  );
  const scaleRows = points.map((pt) => {
    const perP = perPatient(pt);
    return `| ${fmt(pt.patients)} | ${fmt(pt.usedMemory)} | ${fmt(pt.usedMemory - base.usedMemory)} | ${fmt(perP)} | ${fmt(crossCheck(pt))} | ${fmt(pt.seconds, 1)} s |`;
  });
  const report = [
    `Command: \`${command}\``,
    `Date: ${new Date().toISOString()}`,
    `Machine: nproc ${box.cpus} (${box.cpuModel}), ${fmt(box.memGiB, 1)} GiB RAM, node ${box.node}, redis-server ${box.redis} (${box.allocator}), private server with nothing else in it`,
    '',
    `History: ${K} Telegram patients (chat ids ${FIRST_CHAT}…${FIRST_CHAT + K - 1}, seed ${SEED}) onboarded${h.coachIds.length > 0 ? ' with a coach’s invite code' : ''} and checked in for ${DAYS} simulated days through the real service (grammY polling a loopback fake Bot API; scheduler, timer and delivery workers; ${fmt(h.realMinutes, 1)} min of real time). Each day: the push at ${DRILL_TIME} ${ZONE} (with the weekly safety check on its days), then the clock passes the ${h.schedules.get(p0.id)?.reminderTime} reminder; about 80 % answer in the morning, 16 % after the reminder, 4 % not at all; outcome ~78 % done / 12 % partly / 10 % skipped; pain mostly at or up to 2 below baseline (3–6), ~6 % flare-ups of +2 to +3; difficulty mostly about right, ~25 % too easy: ${fmt(h.updatesPerPatientDay, 1)} taps per patient per day.`,
    '',
    `Per patient after ${DAYS} days (MEMORY USAGE … SAMPLES 0, mean over the ${K} patients):`,
    '',
    '| Key class | Type | Elements | Bytes per patient | Min–max | Notes |',
    '| --- | --- | ---: | ---: | ---: | --- |',
    ...classRows,
    ...sharedRows,
    `| **Sum** (cross-check) | | | **${fmt(crossCheck(last))}** | | keysOf keys ${b(ownBytes)} + other patient keys ${b(extraBytes)} + shared ${b(sharedDelta(last))} |`,
    '',
    `Scale: the ${K} patients’ keys copied with DUMP/RESTORE under new ids of the same width (so every copy is byte for byte the same size), their schedules added with ScheduleStore.set${CASELOAD > 0 ? ` and rosters with CoachStore.addToRoster (${CASELOAD} patients per coach)` : ''}; INFO used_memory before (${fmt(base.usedMemory)} B with the ${K} patients${h.coachIds.length > 0 ? ', their coach' : ''} and the run's queues) and after each step:`,
    '',
    '| Patients | used_memory | Added | Bytes per added patient | Sum of MEMORY USAGE | Copy time |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...scaleRows,
    '',
    '| Measure | Value | Target | Result |',
    '| --- | ---: | --- | --- |',
    `| Redis bytes per patient (used_memory, at ${fmt(last.patients)}) | ${b(headline)} | ≤ ${b(TARGET)} | ${ok(headline <= TARGET)} |`,
    ...points
      .slice(0, -1)
      .map((pt) => `| Redis bytes per patient at ${fmt(pt.patients)} | ${b(perPatient(pt))} | | |`),
    `| Cost per patient ${fmt(last.patients)} ÷ ${fmt(firstPoint.patients)} | ${ratio.toFixed(3)} | 0.8–1.2 | ${ok(ratio >= 0.8 && ratio <= 1.2)} |`,
    `| Sum of per-key MEMORY USAGE (cross-check, at ${fmt(last.patients)}) | ${b(crossCheck(last))} | | ${fmt((crossCheck(last) / headline) * 100)} % of used_memory |`,
    ...points.map(
      (pt) =>
        `| Queue retention per patient at ${fmt(pt.patients)}, steady state (separate, not in the figures above) | ${Number.isFinite(queueSteadyAt(pt)) ? b(queueSteadyAt(pt)) : 'unbounded'} | | |`,
    ),
    `| Per patient incl. steady queue retention | ${Number.isFinite(queueSteady) ? b(headline + queueSteady) : 'unbounded'} | ≤ ${b(TARGET)} | ${ok(headline + queueSteady <= TARGET)} |`,
    `| Per patient incl. the queue's peak bound | ${Number.isFinite(queuePeak) ? b(headline + queuePeak) : 'unbounded'} | | |`,
    '',
    `Queue retention (every key under \`${h.queuePrefix}\`; not copied, so not in the figures above): after the run it holds ${b(queueNow)} per patient, but BullMQ ages finished jobs by real time and the ${DAYS} simulated days took ${fmt(h.realMinutes, 1)} real minutes, so nothing of the run has aged out yet. The steady state is worked out instead from what the daily phase added: items per patient per simulated day × how long they are kept (the jobs' own removeOnComplete, or a key's TTL) × bytes per item (a job: its hash, sub-keys and its entry in the completed set). The peak bound assumes a whole day's items are still there at once, as they nearly are right after the morning fan-out when the window is shorter than a day (a count limit shared by all patients caps it).`,
    '',
    `| Queue items (at ${fmt(last.patients)} patients) | Kept after the run | B/patient after the run | Per patient per day | Bytes each | Kept for | Steady B/patient | Peak bound B/patient | How |`,
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |',
    ...queueRows.map(
      (q) =>
        `| ${q.what} | ${fmt(q.kept)} | ${fmt(q.now)} | ${fmt(q.perPatientDay, 2)} | ${fmt(q.unit)} | ${q.window} | ${fmt(q.r.bytes)} | ${fmt(q.r.peak)} | ${q.r.how} |`,
    ),
    `| **Total** | | **${fmt(queueNow)}** | | | | **${fmt(queueSteady)}** | **${fmt(queuePeak)}** | plus ${b(fixedQueueBytes)} for both queues that does not grow with patients (capped event streams, meta) |`,
  ].join('\n');
  say(`\n${report}`);
  if (args.out) writeFileSync(args.out, `${report}\n`);
}

await runBench('bench/storage', main, () => endAll());
