import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/runtime/config.ts';

function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('loadConfig', () => {
  it('fills defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      redisUrl: undefined,
      logLevel: 'info',
      contentDir: 'content',
      defaultLocale: 'en',
      telegramBotToken: undefined,
      slackBotToken: undefined,
      slackSigningSecret: undefined,
      slackAppToken: undefined,
      redisPrefix: 'bc',
      roles: ['bot', 'worker', 'scheduler'],
      telegramApiRoot: undefined,
      telegramWebhookUrl: undefined,
      telegramWebhookSecret: undefined,
      telegramWebhookPort: 8080,
      slackApiUrl: undefined,
      slackPort: 3000,
      slackOAuth: undefined,
      coaches: [],
      opsPort: undefined,
      adminToken: undefined,
      telegramRatePerSecond: 30,
      telegramChatGapMs: 1000,
      slackRatePerChannel: 1,
      deliveryConcurrency: 20,
      jobLockSeconds: 30,
      // The cores but one, at most 4: none on a single core.
      stepThreads: Math.min(4, availableParallelism() - 1),
      sendThreads: 0,
      chartThreads: 1,
    });
  });

  it('treats empty strings as unset', () => {
    const config = loadConfig({ REDIS_URL: '', LOG_LEVEL: '', DEFAULT_LOCALE: '', TELEGRAM_BOT_TOKEN: '' });
    expect(config).toMatchObject({ redisUrl: undefined, logLevel: 'info', defaultLocale: 'en' });
    expect(config.telegramBotToken).toBeUndefined();
  });

  it('reads a complete valid environment', () => {
    const config = loadConfig({
      REDIS_URL: 'rediss://:pw@redis.example:6380/0',
      LOG_LEVEL: 'debug',
      CONTENT_DIR: '/srv/content',
      DEFAULT_LOCALE: 'de',
      TELEGRAM_BOT_TOKEN: '123456:ABC-def_ghi',
      SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
      SLACK_SIGNING_SECRET: '8f742231b10e8888abcd99yyyzzz85a5',
      SLACK_APP_TOKEN: 'xapp-1-A1-abc',
      SLACK_API_URL: 'https://slack-gov.com/api/',
      SLACK_PORT: '3001',
      SLACK_CLIENT_ID: '123.456',
      SLACK_CLIENT_SECRET: 'client-secret',
      SLACK_STATE_SECRET: 'state-secret-0123456789',
      COACHES: 'tg:4242@Europe/Berlin, sl:T01:U02',
      OPS_PORT: '9464',
      ADMIN_TOKEN: 'an-admin-token-0123456789',
      REDIS_PREFIX: 'coach-eu',
      ROLES: 'worker, scheduler',
      TELEGRAM_API_ROOT: 'http://127.0.0.1:8081',
      TELEGRAM_WEBHOOK_URL: 'https://coach.example.org/tg',
      TELEGRAM_WEBHOOK_SECRET: 's3cret_-',
      TELEGRAM_WEBHOOK_PORT: '8443',
      TELEGRAM_RATE_PER_SECOND: '100',
      TELEGRAM_CHAT_GAP_MS: '1500',
      SLACK_RATE_PER_CHANNEL: '0.5',
      DELIVERY_CONCURRENCY: '50',
      STEP_THREADS: '3',
      SEND_THREADS: '1',
      CHART_THREADS: '0',
      UNRELATED: 'ignored',
    });
    expect(config).toEqual({
      redisUrl: 'rediss://:pw@redis.example:6380/0',
      logLevel: 'debug',
      contentDir: '/srv/content',
      defaultLocale: 'de',
      telegramBotToken: '123456:ABC-def_ghi',
      slackBotToken: 'xoxb-1-2-abc',
      slackSigningSecret: '8f742231b10e8888abcd99yyyzzz85a5',
      slackAppToken: 'xapp-1-A1-abc',
      redisPrefix: 'coach-eu',
      roles: ['worker', 'scheduler'],
      telegramApiRoot: 'http://127.0.0.1:8081',
      telegramWebhookUrl: 'https://coach.example.org/tg',
      telegramWebhookSecret: 's3cret_-',
      telegramWebhookPort: 8443,
      slackApiUrl: 'https://slack-gov.com/api/',
      slackPort: 3001,
      slackOAuth: {
        clientId: '123.456',
        clientSecret: 'client-secret',
        stateSecret: 'state-secret-0123456789',
      },
      coaches: [
        { id: 'tg:4242', timezone: 'Europe/Berlin' },
        { id: 'sl:T01:U02', timezone: 'UTC' },
      ],
      opsPort: 9464,
      adminToken: 'an-admin-token-0123456789',
      telegramRatePerSecond: 100,
      telegramChatGapMs: 1500,
      slackRatePerChannel: 0.5,
      deliveryConcurrency: 50,
      jobLockSeconds: 30,
      stepThreads: 3,
      sendThreads: 1,
      chartThreads: 0,
    });
  });

  it.each([
    ['ROLES', 'worker,cook', 'expected a comma-separated list of bot, worker, scheduler'],
    ['ROLES', ',', 'expected a comma-separated list'],
    ['TELEGRAM_RATE_PER_SECOND', '0', 'expected a whole number of messages per second'],
    ['TELEGRAM_RATE_PER_SECOND', '2.5', 'expected a whole number of messages per second'],
    ['TELEGRAM_CHAT_GAP_MS', '1s', 'expected whole milliseconds (0–60000; 0 sends'],
    ['TELEGRAM_CHAT_GAP_MS', '60001', 'expected whole milliseconds (0–60000'],
    ['SLACK_RATE_PER_CHANNEL', '0', 'expected messages per second to one channel (0.1–100)'],
    ['SLACK_RATE_PER_CHANNEL', '101', 'expected messages per second to one channel (0.1–100)'],
    ['SLACK_RATE_PER_CHANNEL', '1/s', 'expected messages per second to one channel (0.1–100)'],
    ['DELIVERY_CONCURRENCY', 'many', 'expected a whole number of parallel deliveries'],
    ['STEP_THREADS', '17', 'expected a whole number of threads (0–16'],
    ['STEP_THREADS', '-1', 'expected a whole number of threads (0–16'],
    ['SEND_THREADS', '2', 'expected 0 or 1 (0: the main thread makes the requests)'],
    ['CHART_THREADS', '2.5', 'expected a whole number of threads (0–16; 0 draws on the main thread)'],
    ['TELEGRAM_API_ROOT', 'ftp://bots', 'expected an http:// or https:// URL'],
    ['TELEGRAM_WEBHOOK_PORT', '70000', 'expected a TCP port (0–65535; 0 picks a free one)'],
    [
      'TELEGRAM_WEBHOOK_URL',
      'coach.example.org',
      'expected the public https:// URL Telegram should post updates to',
    ],
    ['REDIS_PREFIX', 'a b', 'expected 1–32 letters'],
    ['SLACK_API_URL', 'https://slack.com/', 'expected an http:// or https:// URL ending in /api/'],
    ['SLACK_PORT', 'eighty', 'expected a TCP port'],
    ['COACHES', 'tg:12@Mars/Base', 'expected a comma-separated list of coach chats'],
    ['COACHES', 'bob', 'expected a comma-separated list of coach chats'],
  ])('rejects %s=%s in one line naming it', (name, value, expected) => {
    const error = configErrorOf({ [name]: value });
    expect(error.variable).toBe(name);
    expect(error.message).toContain(`Invalid environment variable ${name}: ${expected}`);
  });

  it.each([
    ['REDIS_URL', 'http://user:hunter2@localhost:6379', 'expected a redis:// or rediss:// URL'],
    ['REDIS_URL', 'redis//hunter2', 'expected a redis:// or rediss:// URL'],
    ['TELEGRAM_BOT_TOKEN', 'hunter2-no-colon', 'expected a Telegram bot token'],
    ['TELEGRAM_BOT_TOKEN', '123:hunter2\n', 'expected a Telegram bot token'],
    ['SLACK_BOT_TOKEN', 'xoxp-hunter2', 'expected a token starting with xoxb-'],
    ['SLACK_APP_TOKEN', 'xoxb-hunter2', 'expected a token starting with xapp-'],
    ['SLACK_SIGNING_SECRET', 'hunter2 with spaces', 'expected a value without whitespace'],
    ['ADMIN_TOKEN', 'hunter2-short', 'expected 16 or more characters without whitespace'],
    ['ADMIN_TOKEN', 'hunter2 hunter2 hunter2', 'expected 16 or more characters without whitespace'],
  ])('rejects a bad secret %s in one line without echoing it', (name, value, expected) => {
    const error = configErrorOf({ [name]: value });

    expect(error.variable).toBe(name);
    expect(error.message.startsWith(`Invalid environment variable ${name}: ${expected}`)).toBe(true);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toMatch(/[\r\n]/);
  });

  it.each([
    [
      'LOG_LEVEL',
      'verbose',
      'Invalid environment variable LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    ],
    [
      'DEFAULT_LOCALE',
      'fr',
      'Invalid environment variable DEFAULT_LOCALE: expected one of en, de (got "fr")',
    ],
  ])('rejects a bad %s in one line, showing the value', (name, value, message) => {
    expect(configErrorOf({ [name]: value }).message).toBe(message);
  });

  it('keeps a value with line breaks on one line', () => {
    const message = configErrorOf({ LOG_LEVEL: 'info\nmore\u2028end' }).message;
    expect(message).toMatch(/^Invalid environment variable LOG_LEVEL: /);
    expect(message).not.toMatch(/[\r\n\u2028\u2029]/);
  });

  it('names the first bad variable and lists the others on the same line', () => {
    const error = configErrorOf({ REDIS_URL: 'nope', LOG_LEVEL: 'loud', SLACK_APP_TOKEN: 'x' });

    expect(error.variable).toBe('REDIS_URL');
    expect(error.message).toBe(
      'Invalid environment variable REDIS_URL: expected a redis:// or rediss:// URL; also invalid: LOG_LEVEL, SLACK_APP_TOKEN',
    );
  });

  it('asks for the rest of Slack OAuth when only part is set, and for a way to receive Slack', () => {
    const partial = configErrorOf({ SLACK_CLIENT_ID: '1.2', SLACK_SIGNING_SECRET: 'x' });
    expect(partial.variable).toBe('SLACK_CLIENT_SECRET');
    expect(partial.message).toContain('required together with SLACK_CLIENT_ID');
    const deaf = configErrorOf({ SLACK_BOT_TOKEN: 'xoxb-1' });
    expect(deaf.variable).toBe('SLACK_SIGNING_SECRET');
    expect(deaf.message).toContain('SLACK_APP_TOKEN');
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).slackAppToken).toBe('xapp-1');
  });
});
