import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bot, HttpError } from 'grammy';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { publishCommandMenu, useRetries, webhookSecretOf } from '../../../adapters/telegram/bot.ts';
import { realContent } from '../../support/content.ts';
import { type FakeBotApi, startFakeBotApi } from '../../support/fake-bot-api.ts';

let fake: FakeBotApi | undefined;
let dropping: Server | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
  await new Promise((resolve) => (dropping ? dropping.close(resolve) : resolve(undefined)));
  dropping = undefined;
});

/**
 * A Bot API that drops the connection of its first `drops` requests without an answer (a network
 * failure to the client), then answers every call with `ok`. Counts the requests.
 */
async function droppingBotApi(drops: number): Promise<{ apiRoot: string; requests: () => number }> {
  let requests = 0;
  dropping = createServer((req, res) => {
    requests++;
    if (requests <= drops) {
      req.socket.destroy();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({ ok: true, result: { id: 1, is_bot: true, first_name: 'Bot', username: 'bot' } }),
    );
  });
  await new Promise<void>((resolve) => dropping?.listen(0, '127.0.0.1', resolve));
  const { port } = dropping.address() as AddressInfo;
  return { apiRoot: `http://127.0.0.1:${port}`, requests: () => requests };
}

/** A bot with the service's retries, waiting milliseconds rather than seconds between tries. */
function retryingBot(apiRoot: string): Bot {
  const bot = new Bot('1:retries', { client: { apiRoot } });
  useRetries(bot.api, { retries: 2, minTimeoutMs: 5 });
  return bot;
}

describe("the bot's retries", () => {
  it('tries a call that got no answer again', async () => {
    const api = await droppingBotApi(2);
    await expect(retryingBot(api.apiRoot).api.getMe()).resolves.toMatchObject({ username: 'bot' });
    expect(api.requests()).toBe(3);
  });

  it('gives up on a Bot API that does not answer, and the caller hears of it', async () => {
    const api = await droppingBotApi(Number.POSITIVE_INFINITY);
    await expect(retryingBot(api.apiRoot).api.getMe()).rejects.toBeInstanceOf(HttpError);
    expect(api.requests()).toBe(3);
    // Start-up's first call reports it as a warning and goes on, rather than waiting for ever.
    const { log, lines } = capturedLog();
    await expect(
      publishCommandMenu(retryingBot(api.apiRoot), realContent(), 'en', log),
    ).resolves.toBeUndefined();
    expect(lines.filter((l) => /setMyCommands failed/.test(String(l.msg)))).toHaveLength(3);
    expect(api.requests()).toBe(3 + 3 * 3);
  });
});

/** A pino logger whose lines the test can read. */
function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe('publishCommandMenu', () => {
  it('logs a failing setMyCommands and carries on with the other locales', async () => {
    fake = await startFakeBotApi({ fail: { status500Rate: 1, methods: ['setMyCommands'] } });
    const bot = new Bot('1:menu', { client: { apiRoot: fake.apiRoot } });
    const { log, lines } = capturedLog();
    await expect(publishCommandMenu(bot, realContent(), 'en', log)).resolves.toBeUndefined();
    expect(fake.stats.requests.get('setMyCommands')).toBe(3);
    expect(lines.filter((l) => /setMyCommands failed/.test(String(l.msg)))).toHaveLength(3);
  });
});

describe('webhookSecretOf', () => {
  it('uses the configured secret, else one derived from the token that Telegram accepts', () => {
    expect(webhookSecretOf('1:a', 'mine')).toBe('mine');
    const derived = webhookSecretOf('1:a', undefined);
    expect(derived).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
    expect(webhookSecretOf('1:a', undefined)).toBe(derived);
    expect(webhookSecretOf('1:b', undefined)).not.toBe(derived);
    expect(derived).not.toContain('1:a');
  });
});
