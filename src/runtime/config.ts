import { z } from 'zod';
import { LOCALES } from '../content/schema.ts';

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

const VARIABLES = {
  REDIS_URL: variable(z.string().refine(isRedisUrl).optional(), 'expected a redis:// or rediss:// URL', true),
  LOG_LEVEL: variable(z.enum(LOG_LEVELS).default('info'), `expected one of ${LOG_LEVELS.join(', ')}`, false),
  CONTENT_DIR: variable(z.string().default('content'), 'expected a directory path', false),
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
  return {
    redisUrl: raw.REDIS_URL,
    logLevel: raw.LOG_LEVEL,
    contentDir: raw.CONTENT_DIR,
    defaultLocale: raw.DEFAULT_LOCALE,
    telegramBotToken: raw.TELEGRAM_BOT_TOKEN,
    slackBotToken: raw.SLACK_BOT_TOKEN,
    slackSigningSecret: raw.SLACK_SIGNING_SECRET,
    slackAppToken: raw.SLACK_APP_TOKEN,
  };
}
