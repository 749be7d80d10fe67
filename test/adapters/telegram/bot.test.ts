import { Bot } from 'grammy';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { publishCommandMenu, webhookSecretOf } from '../../../adapters/telegram/bot.ts';
import { realContent } from '../../support/content.ts';
import { type FakeBotApi, startFakeBotApi } from '../../support/fake-bot-api.ts';

let fake: FakeBotApi | undefined;
afterEach(async () => {
  await fake?.stop();
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
