import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { LOCALES } from '../content/schema.ts';
import { isValidZone } from '../time/local.ts';
import { type CoachConfig, parseCoaches } from './coaches.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
  ) {
    super(`Invalid environment variable ${variable}: ${expected}`);
    this.name = 'ConfigError';
  }
}

interface Variable<T extends z.ZodType> {
  schema: T;
  expected: string;
  /** Secrets (and URLs that may carry a password) are never echoed back in an error. */
  secret: boolean;
}

const variable = <T extends z.ZodType>(schema: T, expected: string, secret: boolean): Variable<T> => ({
  schema,
  expected,
  secret,
});

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export const ROLES = ['bot', 'worker', 'scheduler'] as const;
export type Role = (typeof ROLES)[number];

const rolesSchema = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.enum(ROLES)).min(1))
  .optional();

const positiveInt = (max: number) =>
  z.string().regex(/^\d+$/).transform(Number).pipe(z.int().min(1).max(max));

/** A worker's threads for stepping a fan-out: the cores but one, which does the I/O; at most 4. */
const DEFAULT_STEP_THREADS = Math.min(4, Math.max(0, availableParallelism() - 1));

/** The token unlocks retrying, cleaning and emptying the queues, so it must be too long to guess. */
export const ADMIN_TOKEN_MIN_CHARS = 16;

const VARIABLES = {
  REDIS_URL: variable(z.string().refine(isRedisUrl).optional(), 'expected a redis:// or rediss:// URL', true),
  LOG_LEVEL: variable(z.enum(LOG_LEVELS).default('info'), `expected one of ${LOG_LEVELS.join(', ')}`, false),
  CONTENT_DIR: variable(z.string().default('content'), 'expected a directory path', false),
  REDIS_PREFIX: variable(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/)
      .default('bc'),
    'expected 1–32 letters, digits, _ or -',
    false,
  ),
  ROLES: variable(rolesSchema, `expected a comma-separated list of ${ROLES.join(', ')}`, false),
  TELEGRAM_API_ROOT: variable(
    z.string().refine(isHttpUrl).optional(),
    'expected an http:// or https:// URL',
    false,
  ),
  TELEGRAM_WEBHOOK_URL: variable(
    z.string().refine(isHttpUrl).optional(),
    'expected the public https:// URL Telegram should post updates to',
    false,
  ),
  TELEGRAM_WEBHOOK_SECRET: variable(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,256}$/)
      .optional(),
    'expected 1–256 letters, digits, _ or -',
    true,
  ),
  TELEGRAM_WEBHOOK_PORT: variable(
    z
      .string()
      .regex(/^\d{1,5}$/)
      .transform(Number)
      .pipe(z.int().min(0).max(65535))
      .default(8080),
    'expected a TCP port (0–65535; 0 picks a free one)',
    false,
  ),
  TELEGRAM_RATE_PER_SECOND: variable(
    positiveInt(100_000).default(30),
    'expected a whole number of messages per second (1–100000)',
    false,
  ),
  TELEGRAM_CHAT_GAP_MS: variable(
    z.string().regex(/^\d+$/).transform(Number).pipe(z.int().min(0).max(60_000)).default(1000),
    "expected whole milliseconds (0–60000; 0 sends a chat's messages back to back)",
    false,
  ),
  SLACK_RATE_PER_CHANNEL: variable(
    z
      .string()
      .regex(/^\d+(\.\d+)?$/)
      .transform(Number)
      .pipe(z.number().min(0.1).max(100))
      .default(1),
    'expected messages per second to one channel (0.1–100)',
    false,
  ),
  DELIVERY_CONCURRENCY: variable(
    positiveInt(500).default(20),
    'expected a whole number of parallel deliveries (1–500)',
    false,
  ),
  JOB_LOCK_SECONDS: variable(positiveInt(600).default(30), 'expected whole seconds (1–600)', false),
  STEP_THREADS: variable(
    z.string().regex(/^\d+$/).transform(Number).pipe(z.int().min(0).max(16)).default(DEFAULT_STEP_THREADS),
    'expected a whole number of threads (0–16; 0 steps on the main thread)',
    false,
  ),
  SEND_THREADS: variable(
    z
      .string()
      .regex(/^[01]$/)
      .transform(Number)
      .default(0),
    'expected 0 or 1 (0: the main thread makes the requests)',
    false,
  ),
  CHART_THREADS: variable(
    z.string().regex(/^\d+$/).transform(Number).pipe(z.int().min(0).max(16)).default(1),
    'expected a whole number of threads (0–16; 0 draws on the main thread)',
    false,
  ),
  DEFAULT_LOCALE: variable(z.enum(LOCALES).default('en'), `expected one of ${LOCALES.join(', ')}`, false),
  TELEGRAM_BOT_TOKEN: variable(
    z
      .string()
      .regex(/^\d+:[\w-]+$/)
      .optional(),
    'expected a Telegram bot token of the form <digits>:<letters, digits, _ or ->',
    true,
  ),
  SLACK_BOT_TOKEN: variable(
    z
      .string()
      .regex(/^xoxb-\S+$/)
      .optional(),
    'expected a token starting with xoxb-',
    true,
  ),
  SLACK_SIGNING_SECRET: variable(
    z.string().regex(/^\S+$/).optional(),
    'expected a value without whitespace',
    true,
  ),
  SLACK_API_URL: variable(
    z
      .string()
      .refine(isHttpUrl)
      .refine((v) => v.endsWith('/api/'))
      .optional(),
    'expected an http:// or https:// URL ending in /api/',
    false,
  ),
  SLACK_PORT: variable(
    z
      .string()
      .regex(/^\d{1,5}$/)
      .transform(Number)
      .pipe(z.int().min(0).max(65535))
      .default(3000),
    'expected a TCP port (0–65535; 0 picks a free one)',
    false,
  ),
  SLACK_CLIENT_ID: variable(
    z.string().regex(/^\S+$/).optional(),
    'expected a value without whitespace',
    false,
  ),
  SLACK_CLIENT_SECRET: variable(
    z.string().regex(/^\S+$/).optional(),
    'expected a value without whitespace',
    true,
  ),
  SLACK_STATE_SECRET: variable(
    z.string().min(16).regex(/^\S+$/).optional(),
    'expected 16 or more characters without whitespace',
    true,
  ),
  OPS_PORT: variable(
    z
      .string()
      .regex(/^\d{1,5}$/)
      .transform(Number)
      .pipe(z.int().min(0).max(65535))
      .optional(),
    'expected a TCP port for /healthz and /metrics (0 picks a free one)',
    false,
  ),
  ADMIN_TOKEN: variable(
    z.string().min(ADMIN_TOKEN_MIN_CHARS).regex(/^\S+$/).optional(),
    `expected ${ADMIN_TOKEN_MIN_CHARS} or more characters without whitespace (e.g. openssl rand -hex 32)`,
    true,
  ),
  COACHES: variable(
    z
      .string()
      .transform(parseCoaches)
      .pipe(
        z.array(
          z.object({
            id: z.string().regex(/^(tg:-?\d{1,20}|sl:[A-Z0-9]{1,20}:[A-Z0-9]{1,20})$/),
            timezone: z.string().refine(isValidZone),
          }),
        ),
      )
      .optional(),
    'expected a comma-separated list of coach chats such as tg:123456@Europe/Berlin or sl:T0123:U0456',
    false,
  ),
  SLACK_APP_TOKEN: variable(
    z
      .string()
      .regex(/^xapp-\S+$/)
      .optional(),
    'expected a token starting with xapp-',
    true,
  ),
};

type Variables = typeof VARIABLES;

const envSchema = z.object(
  Object.fromEntries(Object.entries(VARIABLES).map(([name, { schema }]) => [name, schema])) as {
    [K in keyof Variables]: Variables[K]['schema'];
  },
);

export interface Config {
  redisUrl: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  contentDir: string;
  defaultLocale: (typeof LOCALES)[number];
  telegramBotToken: string | undefined;
  slackBotToken: string | undefined;
  slackSigningSecret: string | undefined;
  slackAppToken: string | undefined;
  /** Where /healthz and /metrics listen; off when unset. */
  opsPort: number | undefined;
  /** Set (with opsPort): the queue dashboard at /admin/queues, for requests carrying this token. */
  adminToken: string | undefined;
  /** Coaches' own chats (and zones); each gets an invite code for their roster. */
  coaches: CoachConfig[];
  /** The Web API root for Slack (GovSlack, tests); Slack's own when unset. */
  slackApiUrl: string | undefined;
  /** The port Slack's HTTP mode listens on. */
  slackPort: number;
  /** OAuth for installing in many workspaces; with these, installs are kept in Redis. */
  slackOAuth: { clientId: string; clientSecret: string; stateSecret: string } | undefined;
  /** Prefix of every key this deployment writes, so several can share one Redis. */
  redisPrefix: string;
  /** What this process does; all of them when ROLES is unset. */
  roles: Role[];
  telegramApiRoot: string | undefined;
  /** Set: Telegram posts updates to this URL (webhook mode); unset: long polling. */
  telegramWebhookUrl: string | undefined;
  telegramWebhookSecret: string | undefined;
  telegramWebhookPort: number;
  telegramRatePerSecond: number;
  /** The wait between two messages of one delivery to one Telegram chat (0: back to back). */
  telegramChatGapMs: number;
  /** Slack's pace for any one channel (a patient's DM, a team's channel). */
  slackRatePerChannel: number;
  deliveryConcurrency: number;
  /** Worker threads that plan a fan-out's steps beside the main thread's I/O (0: none). */
  stepThreads: number;
  /**
   * A worker thread that makes a worker's Telegram requests (0, the default: the main thread makes
   * them). Off by default: with it, a benchmark run at 30/s met a 429 (docs/PERFORMANCE.md).
   */
  sendThreads: number;
  /** Worker threads that draw the charts of a worker's messages (0: the main thread draws them). */
  chartThreads: number;
  /** How long a job stays with a worker that stopped answering before another takes it over. */
  jobLockSeconds: number;
}

const MAX_ECHO_CHARS = 40;

function describe(name: keyof Variables, value: string | undefined): string {
  const { expected, secret } = VARIABLES[name];
  if (secret || value === undefined) return expected;
  const shown = value.length > MAX_ECHO_CHARS ? `${value.slice(0, MAX_ECHO_CHARS)}…` : value;
  // JSON escapes control characters; the Unicode line breaks it leaves alone would split the line.
  return `${expected} (got ${JSON.stringify(shown).replace(/[\u0085\u2028\u2029]/g, '?')})`;
}

/** Reads the process environment once at start-up; a bad value stops start-up with a one-line reason. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const input = Object.fromEntries(
    Object.keys(VARIABLES).map((name) => [name, env[name] === '' ? undefined : env[name]]),
  );
  const result = envSchema.safeParse(input);
  if (!result.success) {
    const names = [
      ...new Set(result.error.issues.map((issue) => String(issue.path[0]))),
    ] as (keyof Variables)[];
    const [first, ...others] = names;
    if (first === undefined) throw new ConfigError('(unknown)', 'the environment could not be read');
    const more = others.length > 0 ? `; also invalid: ${others.join(', ')}` : '';
    throw new ConfigError(first, `${describe(first, input[first])}${more}`);
  }
  const raw = result.data;
  const oauth = ['SLACK_CLIENT_ID', 'SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET'] as const;
  const missingOAuth = oauth.filter((name) => raw[name] === undefined);
  if (missingOAuth.length > 0 && missingOAuth.length < oauth.length) {
    throw new ConfigError(
      missingOAuth[0] as string,
      `required together with ${oauth.filter((n) => !missingOAuth.includes(n)).join(', ')} for Slack installs`,
    );
  }
  if (
    (raw.SLACK_BOT_TOKEN || missingOAuth.length === 0) &&
    !raw.SLACK_SIGNING_SECRET &&
    !raw.SLACK_APP_TOKEN
  ) {
    throw new ConfigError(
      'SLACK_SIGNING_SECRET',
      'required for Slack over HTTP (or set SLACK_APP_TOKEN for Socket Mode)',
    );
  }
  return {
    redisUrl: raw.REDIS_URL,
    logLevel: raw.LOG_LEVEL,
    contentDir: raw.CONTENT_DIR,
    defaultLocale: raw.DEFAULT_LOCALE,
    telegramBotToken: raw.TELEGRAM_BOT_TOKEN,
    slackBotToken: raw.SLACK_BOT_TOKEN,
    slackSigningSecret: raw.SLACK_SIGNING_SECRET,
    slackAppToken: raw.SLACK_APP_TOKEN,
    coaches: raw.COACHES ?? [],
    opsPort: raw.OPS_PORT,
    adminToken: raw.ADMIN_TOKEN,
    slackApiUrl: raw.SLACK_API_URL,
    slackPort: raw.SLACK_PORT,
    slackOAuth:
      raw.SLACK_CLIENT_ID && raw.SLACK_CLIENT_SECRET && raw.SLACK_STATE_SECRET
        ? {
            clientId: raw.SLACK_CLIENT_ID,
            clientSecret: raw.SLACK_CLIENT_SECRET,
            stateSecret: raw.SLACK_STATE_SECRET,
          }
        : undefined,
    redisPrefix: raw.REDIS_PREFIX,
    roles: raw.ROLES ?? [...ROLES],
    telegramApiRoot: raw.TELEGRAM_API_ROOT,
    telegramWebhookUrl: raw.TELEGRAM_WEBHOOK_URL,
    telegramWebhookSecret: raw.TELEGRAM_WEBHOOK_SECRET,
    telegramWebhookPort: raw.TELEGRAM_WEBHOOK_PORT,
    telegramRatePerSecond: raw.TELEGRAM_RATE_PER_SECOND,
    telegramChatGapMs: raw.TELEGRAM_CHAT_GAP_MS,
    slackRatePerChannel: raw.SLACK_RATE_PER_CHANNEL,
    deliveryConcurrency: raw.DELIVERY_CONCURRENCY,
    jobLockSeconds: raw.JOB_LOCK_SECONDS,
    stepThreads: raw.STEP_THREADS,
    sendThreads: raw.SEND_THREADS,
    chartThreads: raw.CHART_THREADS,
  };
}
