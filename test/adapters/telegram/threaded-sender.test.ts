import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { threadedTelegramSender } from '../../../adapters/telegram/threaded-sender.ts';
import { type FakeBotApi, startFakeBotApi } from '../../support/fake-bot-api.ts';

// What the send thread adds to a sender's behaviour (test/adapters/telegram/sender.test.ts has the
// rest, for both kinds): its stop, a crash, many calls at once.
const TOKEN = '123456:test-token';

describe('a Telegram sender on its thread', () => {
  let fake: FakeBotApi;
  beforeEach(async () => {
    fake = await startFakeBotApi({ token: TOKEN });
  });
  afterEach(async () => {
    await fake.stop();
  });

  it('answers every one of many calls made at once with its own message id', async () => {
    const sender = threadedTelegramSender({ token: TOKEN, apiRoot: fake.apiRoot });
    try {
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) => sender.send(String(1 + (i % 7)), { text: `m${i}` })),
      );
      const byText = new Map(fake.messages().map((m) => [m.text, String(m.messageId)]));
      expect(results).toEqual(
        Array.from({ length: 300 }, (_, i) => ({ ok: true, messageId: byText.get(`m${i}`) })),
      );
      // Closing a question's buttons goes by the thread too.
      await expect(sender.closeMessage('1', 1)).resolves.toEqual({ ok: true });
      expect(fake.calls('editMessageReplyMarkup')).toHaveLength(1);
    } finally {
      await sender.close();
    }
  });

  it('says when its thread is ready, and when it cannot start', async () => {
    const sender = threadedTelegramSender({ token: TOKEN, apiRoot: fake.apiRoot });
    await sender.ready();
    await sender.close();
    const told: string[] = [];
    const broken = threadedTelegramSender({
      token: TOKEN,
      apiRoot: fake.apiRoot,
      threadModule: new URL('../../support/no-such-thread.ts', import.meta.url),
      onThreadError: (error) => told.push(error.message),
    });
    try {
      await expect(broken.ready()).rejects.toThrow(/no-such-thread/);
      expect(told).toEqual([expect.stringMatching(/no-such-thread/)]);
      // A call starts it again, and fails as it does.
      await expect(broken.send('1', { text: 'hi' })).rejects.toThrow(/no-such-thread/);
    } finally {
      await broken.close();
    }
    expect(fake.stats.delivered).toBe(0);
  });

  it('waits for the calls in flight when closed, then refuses new ones', async () => {
    const sender = threadedTelegramSender({ token: TOKEN, apiRoot: fake.apiRoot, timeoutSeconds: 0.5 });
    fake.setBehaviour({ fail: { timeoutRate: 1 } });
    let settled = false;
    const inFlight = sender.send('1', { text: 'hi' }).finally(() => {
      settled = true;
    });
    inFlight.catch(() => {});
    await sender.close();
    expect(settled).toBe(true);
    await expect(inFlight).rejects.toThrow();
    await expect(sender.send('1', { text: 'again' })).rejects.toThrow(/closed/);
  });

  it('fails only the calls in flight when its thread stops, and starts another for the next', async () => {
    const told: string[] = [];
    const sender = threadedTelegramSender({
      token: TOKEN,
      apiRoot: fake.apiRoot,
      threadModule: new URL('../../support/stopping-send-thread.ts', import.meta.url),
      onThreadError: (error) => told.push(error.message),
    });
    try {
      await expect(sender.send('1', { text: 'before' })).resolves.toMatchObject({ ok: true });
      await expect(sender.send('stop', { text: 'x' })).rejects.toThrow(/stopped \(exit code 3\)/);
      await expect(sender.send('2', { text: 'after' })).resolves.toMatchObject({ ok: true });
      expect(fake.messages().map((m) => m.text)).toEqual(['before', 'after']);
      expect(told).toEqual(['the Telegram send thread stopped (exit code 3)']);
    } finally {
      await sender.close();
    }
    // Its stop on close is no failure.
    expect(told).toHaveLength(1);
  });
});
