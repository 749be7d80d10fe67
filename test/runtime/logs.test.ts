import { format } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisInstallationStore } from '../../adapters/slack/installation-store.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import type { Service } from '../../src/runtime/service.ts';
import { day, onboard, TestClock } from '../support/chat-journey.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { type FakeSlackApi, slackInstallation, startFakeSlackApi } from '../support/fake-slack-api.ts';
import { useRedis } from '../support/redis.ts';
import { startTestService } from '../support/service.ts';
import { nowSeconds } from '../support/slack-requests.ts';
import { SlackUser } from '../support/slack-user.ts';
import { TelegramUser, viaPolling, viaWebhook } from '../support/telegram-user.ts';

const redisFixture = useRedis();
const TOKEN = '4716:logs-secret-token';
const clock = new TestClock(Date.parse('2026-05-19T05:00:00Z'));
const lines: string[] = [];
let fake: FakeBotApi;
let service: Service;

beforeAll(async () => {
  fake = await startFakeBotApi({ token: TOKEN });
  ({ service } = await startTestService(
    redisFixture,
    { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: fake.apiRoot, COACHES: 'tg:950' },
    clock.read,
    undefined,
    // Everything, down to debug, as an operator could switch it on.
    createLogger('trace', { write: (line: string) => lines.push(line) }),
  ));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

describe('logs', () => {
  it('carry ids and kinds, never message text, pain values, names or secrets', async () => {
    const user = new TelegramUser(fake, 8101, viaPolling(fake));
    await onboard(user);
    await day(user, clock, { pain: 9, difficulty: 'too_hard', painDuring: 'severe' });
    await user.say('My back really hurts after gardening', /.+/);
    // A platform fault and a blocked user make the error paths log too.
    fake.setBehaviour({ fail: { status500Rate: 1, methods: ['sendMessage'] } });
    await user.push(user.messageUpdate('/help'));
    await vi.waitFor(() => expect(lines.some((l) => l.includes('delivery failed'))).toBe(true), {
      timeout: 10_000,
    });
    fake.setBehaviour({ fail: undefined, blockedChats: new Set(['8101']) });
    await user.push(user.messageUpdate('/today'));
    await vi.waitFor(() => expect(lines.some((l) => l.includes('user blocked the bot'))).toBe(true), {
      timeout: 10_000,
    });

    expect(lines.length).toBeGreaterThan(20);
    const all = lines.join('\n');
    const sent = [
      ...new Set(
        user
          .texts()
          .flatMap((t) => t.split('\n'))
          .filter((t) => t.length > 12),
      ),
    ];
    for (const text of [...sent, 'gardening', 'Pat', TOKEN, 'logs-secret-token']) {
      expect(all, `logs contain ${JSON.stringify(text)}`).not.toContain(text);
    }
    expect(all).not.toMatch(/"pain(Today|During|_during)?":\s*"?\d/);
    expect(all).not.toMatch(/"text":/);
  });
});

/** The secrets of the second service: every one of them must stay out of its logs. */
const SECRETS = {
  telegramToken: '4717:webhook-logs-secret-token',
  webhookSecret: 'webhook-secret-for-the-logs-test',
  signingSecret: 'slack-signing-secret-for-the-logs-test',
  slackBotToken: 'xoxb-installed-bot-token-for-the-logs-test',
  clientSecret: 'slack-client-secret-for-the-logs-test',
  stateSecret: 'slack-state-secret-for-the-logs-test',
  adminToken: 'admin-token-for-the-logs-test-0123',
};

describe('logs of Slack, the Telegram webhook and the queue dashboard', () => {
  const logged: string[] = [];
  /** Anything a library prints to the console instead of logging through pino: there should be none. */
  const printed: string[] = [];
  const consoleSpies: { mockRestore(): void }[] = [];
  let tg: FakeBotApi;
  let slack: FakeSlackApi;
  let svc: Service;

  beforeAll(async () => {
    for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      consoleSpies.push(
        vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          printed.push(format(...args));
        }),
      );
    }
    tg = await startFakeBotApi({ token: SECRETS.telegramToken });
    slack = await startFakeSlackApi({ tokens: { [SECRETS.slackBotToken]: 'T1' } });
    for (const id of ['U1', 'U2']) slack.setUser(id, { tz: 'Europe/Berlin', locale: 'en-US' });
    const prefix = redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '');
    await new RedisInstallationStore(redisFixture.redis, `${prefix}:`).storeInstallation(
      slackInstallation('T1', SECRETS.slackBotToken),
    );
    ({ service: svc } = await startTestService(
      redisFixture,
      {
        TELEGRAM_BOT_TOKEN: SECRETS.telegramToken,
        TELEGRAM_API_ROOT: tg.apiRoot,
        TELEGRAM_WEBHOOK_URL: 'https://coach.example.org/telegram/hook',
        TELEGRAM_WEBHOOK_SECRET: SECRETS.webhookSecret,
        TELEGRAM_WEBHOOK_PORT: '0',
        SLACK_CLIENT_ID: '123.456',
        SLACK_CLIENT_SECRET: SECRETS.clientSecret,
        SLACK_STATE_SECRET: SECRETS.stateSecret,
        SLACK_SIGNING_SECRET: SECRETS.signingSecret,
        SLACK_API_URL: slack.apiUrl,
        SLACK_PORT: '0',
        OPS_PORT: '0',
        ADMIN_TOKEN: SECRETS.adminToken,
        // A worker's requests from the send thread: its errors are logged as the main thread's are.
        SEND_THREADS: '1',
      },
      undefined,
      prefix,
      createLogger('trace', { write: (line: string) => logged.push(line) }),
    ));
  });

  afterAll(async () => {
    await svc?.stop();
    await tg?.stop();
    await slack?.stop();
    for (const spy of consoleSpies) spy.mockRestore();
  });

  const waitForLog = (pattern: RegExp) =>
    vi.waitFor(() => expect(logged.some((l) => pattern.test(l))).toBe(true), {
      timeout: 15_000,
      interval: 50,
    });

  it('never carry a token, secret or password, also when requests fail or a platform is down', async () => {
    // Telegram by webhook: a good update, then ones with no or the wrong secret.
    const webhook = viaWebhook(
      () => `http://127.0.0.1:${svc.webhookPort}/telegram/hook`,
      SECRETS.webhookSecret,
    );
    const patient = new TelegramUser(tg, 8102, webhook);
    await patient.say('/start', /Hi, I’m Backcoach/);
    const refused: Record<string, string>[] = [
      {},
      { 'x-telegram-bot-api-secret-token': `${SECRETS.webhookSecret}x` },
    ];
    for (const headers of refused) {
      expect((await webhook.post(patient.messageUpdate('/help'), headers)).status).toBe(401);
    }

    // Slack over HTTP: signed events and a slash command, then bad signatures and stale ones.
    const eventsUrl = () => `http://127.0.0.1:${svc.slackPort}/slack/events`;
    const u1 = new SlackUser(slack, eventsUrl, SECRETS.signingSecret, 'T1', 'U1');
    // Waits for the first question, whose buttons the tap below needs.
    await u1.say('hello');
    await u1.tap('yes');
    const command = await u1.post('command', {
      command: '/backcoach',
      text: 'help',
      user_id: 'U1',
      team_id: 'T1',
      channel_id: 'DU1',
      trigger_id: 'trig-logs',
      response_url: 'https://hooks.slack.com/commands/T1/1/x',
    });
    expect(command.status).toBe(200);
    const forged = new SlackUser(slack, eventsUrl, `${SECRETS.signingSecret}-wrong`, 'T1', 'U1');
    expect((await forged.post('event', forged.dmEnvelope('hi'))).status).toBe(401);
    expect((await u1.post('event', u1.dmEnvelope('hi'), { signature: null })).status).toBe(401);
    expect((await u1.post('event', u1.dmEnvelope('hi'), { timestamp: nowSeconds() - 600 })).status).toBe(401);

    // Slack's Web API answering 500: deliveries and the profile look-up fail and are logged.
    slack.setBehaviour({ failRate: 1, methods: ['chat.postMessage', 'users.info'] });
    const u2 = new SlackUser(slack, eventsUrl, SECRETS.signingSecret, 'T1', 'U2');
    await u2.send('event', u2.dmEnvelope('hello'));
    await waitForLog(/users\.info failed/);
    await waitForLog(/delivery failed/);
    slack.setBehaviour({ failRate: undefined });

    // OAuth: the install page, and a callback with a forged state.
    const slackRoot = `http://127.0.0.1:${svc.slackPort}`;
    expect((await fetch(`${slackRoot}/slack/install`, { redirect: 'manual' })).status).toBe(302);
    await fetch(`${slackRoot}/slack/oauth_redirect?code=abc&state=forged-state`, { redirect: 'manual' });

    // The dashboard: refused without or with a wrong token, served with the right one.
    const ops = (path: string, headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${svc.opsPort}${path}`, { headers });
    const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
    expect((await ops('/admin/queues')).status).toBe(401);
    expect((await ops('/admin/queues', { authorization: basic(`${SECRETS.adminToken}x`) })).status).toBe(401);
    expect((await ops('/admin/queues', { authorization: basic(SECRETS.adminToken) })).status).toBe(200);
    const api = await ops('/admin/queues/api/queues', { authorization: `Bearer ${SECRETS.adminToken}` });
    expect(api.status).toBe(200);
    await ops('/admin/queues/api/queues/nowhere/1', { authorization: `Bearer ${SECRETS.adminToken}` });

    // Both platforms gone: the clients' network errors are logged as deliveries fail.
    await tg.stop();
    await slack.stop();
    await patient.push(patient.messageUpdate('/help'));
    await u1.send('event', u1.dmEnvelope('help'));
    // The worker's Telegram requests go from the send thread: grammY's error comes back with its name
    // and what it wraps, the token redacted.
    await waitForLog(/"type":"SendThreadError".*ECONNREFUSED.*"name":"HttpError".*"msg":"delivery failed"/);
    await waitForLog(/"type":"WebAPIRequestError".*ECONNREFUSED.*"msg":"delivery failed"/);

    // Bolt's own warnings (here, the forged signatures) are JSON lines like ours, not console output.
    await waitForLog(/"level":40,.*"component":"[^"]*".*Failed to parse and verify the request data/);
    expect(printed).toEqual([]);
    const all = [...logged, ...printed].join('\n');
    expect(logged.length).toBeGreaterThan(10);
    const secrets = [
      ...Object.values(SECRETS),
      // The parts a log could show on their own: the Telegram token after its id, a Basic header.
      SECRETS.telegramToken.split(':')[1] as string,
      Buffer.from(`admin:${SECRETS.adminToken}`).toString('base64'),
    ];
    for (const secret of secrets) {
      expect(all, `logs contain ${JSON.stringify(secret)}`).not.toContain(secret);
    }
  });
});
