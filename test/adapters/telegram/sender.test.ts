import { performance } from 'node:perf_hooks';
import { HttpError } from 'grammy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CALLBACK_DATA_MAX_BYTES,
  createTelegramSender,
  decodeCallbackData,
  encodeCallbackData,
  type TelegramSender,
  type TelegramSenderOptions,
} from '../../../adapters/telegram/sender.ts';
import { SendThreadError, threadedTelegramSender } from '../../../adapters/telegram/threaded-sender.ts';
import { type FakeBotApi, startFakeBotApi } from '../../support/fake-bot-api.ts';

const TOKEN = '123456:test-token';

interface Made {
  sender: TelegramSender;
  close(): Promise<void>;
}

// The same behaviour whether the requests are made on this thread or on the send thread; only a
// thrown error differs, whose class does not cross threads (its name, message and what it wraps do).
describe.each([
  {
    where: 'on the calling thread',
    make: (opts: TelegramSenderOptions): Made => ({
      sender: createTelegramSender(opts),
      close: async () => {},
    }),
    timedOut: (error: unknown) => error instanceof HttpError && /timed out/.test(String(error.error)),
  },
  {
    where: 'on its thread',
    make: (opts: TelegramSenderOptions): Made => {
      const sender = threadedTelegramSender(opts);
      return { sender, close: () => sender.close() };
    },
    timedOut: (error: unknown) =>
      error instanceof SendThreadError && error.name === 'HttpError' && /timed out/.test(String(error.error)),
  },
])('telegram sender against the fake Bot API, $where', ({ make, timedOut }) => {
  let fake: FakeBotApi;
  let sender: TelegramSender;
  const made: Made[] = [];
  const madeWith = (opts: TelegramSenderOptions) => {
    const one = make(opts);
    made.push(one);
    return one.sender;
  };

  beforeEach(async () => {
    fake = await startFakeBotApi({ token: TOKEN });
    sender = madeWith({ token: TOKEN, apiRoot: fake.apiRoot, timeoutSeconds: 5 });
  });
  afterEach(async () => {
    await Promise.all(made.splice(0).map((m) => m.close()));
    await fake.stop();
  });

  it('delivers a plain message with the chat id and text', async () => {
    await expect(sender.send('4242', { text: 'Good morning' })).resolves.toEqual({
      ok: true,
      messageId: expect.any(String),
    });
    const [sent] = fake.messages();
    expect(sent).toMatchObject({ method: 'sendMessage', chatId: '4242', messageId: 1, text: 'Good morning' });
    expect(sent?.replyMarkup).toBeUndefined();
    expect(fake.stats.delivered).toBe(1);
    expect(fake.stats.deliveredPerChat.get('4242')).toBe(1);
  });

  it("tells a departure whose time is past when its request left, on the caller's clock", async () => {
    const told: number[] = [];
    const lateAfter = performance.now() - 50;
    await sender.send('4242', { text: 'Late' }, { lateAfter, leftLate: (at) => told.push(at) });
    const after = performance.now();
    expect(told).toHaveLength(1);
    expect(told[0]).toBeGreaterThan(lateAfter);
    expect(told[0]).toBeLessThanOrEqual(after);
    expect(fake.stats.delivered).toBe(1);
  });

  it('tells a departure still in time nothing', async () => {
    const told: number[] = [];
    const lateAfter = performance.now() + 60_000;
    await sender.send('4242', { text: 'On time' }, { lateAfter, leftLate: (at) => told.push(at) });
    expect(told).toEqual([]);
    expect(fake.stats.delivered).toBe(1);
  });

  it('tells a late departure as its request leaves, before the platform answers', async () => {
    // The pace must make room in the second after the request, which an answer may not come back within.
    const quick = madeWith({ token: TOKEN, apiRoot: fake.apiRoot, timeoutSeconds: 0.5 });
    fake.setBehaviour({ fail: { timeoutRate: 1 } });
    // When each was heard here: a thread's start-up, however slow, comes before both.
    const toldAt: number[] = [];
    let settledAt = Number.NaN;
    const lateAfter = performance.now() - 50;
    const outcome = await quick
      .send('1', { text: 'Late' }, { lateAfter, leftLate: () => toldAt.push(performance.now()) })
      .then(
        () => 'answered',
        () => 'timed out',
      )
      .finally(() => {
        settledAt = performance.now();
      });
    expect(outcome).toBe('timed out');
    expect(toldAt).toHaveLength(1);
    expect(toldAt[0]).toBeLessThan(settledAt);
    expect(fake.stats.timeouts).toBe(1);
  });

  it('renders choices as an inline keyboard, one row per choices row, with seq:value callback data', async () => {
    const result = await sender.send('77', {
      text: 'How is your back today?',
      seq: 12,
      choices: [
        [
          { value: 'better', label: 'Better' },
          { value: 'same', label: 'Same' },
        ],
        [{ value: 'worse', label: 'Worse' }],
      ],
    });
    expect(result).toEqual({ ok: true, messageId: expect.any(String) });
    await sender.send('77', { text: 'second' });
    const [first, second] = fake.messages();
    expect(first?.chatId).toBe('77');
    expect(first?.text).toBe('How is your back today?');
    expect(first?.replyMarkup).toEqual({
      inline_keyboard: [
        [
          { text: 'Better', callback_data: '12:better' },
          { text: 'Same', callback_data: '12:same' },
        ],
        [{ text: 'Worse', callback_data: '12:worse' }],
      ],
    });
    expect(second?.messageId).toBe(2);
    expect(fake.stats.connections).toBe(1); // grammY kept the connection alive
  });

  it('sends a picture with the text as its caption and the buttons under it', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64');
    const result = await sender.send('55', {
      text: 'Your pain this week: 4 → 3 ✓',
      image: { png, alt: 'pain chart' },
      seq: 4,
      choices: [[{ value: 'ok', label: 'OK' }]],
    });
    expect(result).toEqual({ ok: true, messageId: '1' });
    expect(fake.messages()).toEqual([
      expect.objectContaining({
        method: 'sendPhoto',
        chatId: '55',
        text: 'Your pain this week: 4 → 3 ✓',
        replyMarkup: { inline_keyboard: [[{ text: 'OK', callback_data: '4:ok' }]] },
      }),
    ]);
    // Too long for a caption: the picture, then the text with its buttons as a message.
    const long = 'x'.repeat(1500);
    expect(await sender.send('55', { text: long, image: { png, alt: 'chart' } })).toEqual({
      ok: true,
      messageId: '3',
    });
    expect(
      fake
        .messages()
        .slice(1)
        .map((m) => [m.method, m.text?.length]),
    ).toEqual([
      ['sendPhoto', undefined],
      ['sendMessage', 1500],
    ]);
  });

  it('sends a picture without a caption when the text goes apart from it', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64');
    expect(await sender.send('56', { text: '', image: { png, alt: 'chart' } })).toEqual({
      ok: true,
      messageId: '1',
    });
    const [call] = fake.calls('sendPhoto');
    expect(call?.payload).not.toHaveProperty('caption');
    expect(fake.stats.photos).toBe(1);
  });

  it('maps a 429 to retryAfterMs', async () => {
    fake.setBehaviour({ fail: { status429Rate: 1, retryAfter: 7 } });
    await expect(sender.send('1', { text: 'hi' })).resolves.toEqual({ ok: false, retryAfterMs: 7000 });
    expect(fake.stats.status429).toBe(1);
    expect(fake.stats.delivered).toBe(0);
  });

  it('maps a blocked user to blocked', async () => {
    fake.setBehaviour({ blockedChats: new Set(['99']) });
    await expect(sender.send('99', { text: 'hi' })).resolves.toEqual({ ok: false, blocked: true });
    await expect(sender.send('98', { text: 'hi' })).resolves.toEqual({
      ok: true,
      messageId: expect.any(String),
    });
    expect(fake.stats.status403).toBe(1);
  });

  it('throws on a 500 so the queue retries', async () => {
    fake.setBehaviour({ fail: { status500Rate: 1 } });
    await expect(sender.send('1', { text: 'hi' })).rejects.toThrow(/Internal Server Error/);
    fake.setBehaviour({ fail: undefined });
    await expect(sender.send('1', { text: 'hi' })).resolves.toEqual({
      ok: true,
      messageId: expect.any(String),
    });
  });

  it('throws on a request the server never answers, after the client timeout', async () => {
    const quick = madeWith({ token: TOKEN, apiRoot: fake.apiRoot, timeoutSeconds: 0.2 });
    fake.setBehaviour({ fail: { timeoutRate: 1 } });
    const error = await quick.send('1', { text: 'hi' }).catch((e: unknown) => e);
    expect(timedOut(error), String(error)).toBe(true);
    expect(fake.stats.timeouts).toBe(1);
  });

  it('refuses a keyboard whose callback data would not fit before calling Telegram', async () => {
    const value = 'x'.repeat(48);
    await expect(
      sender.send('1', { text: 'q', seq: 10 ** 15, choices: [[{ value, label: 'Long' }]] }),
    ).rejects.toThrow(value);
    expect(fake.stats.requests.get('sendMessage')).toBeUndefined();
  });

  it("the fake's rate limiter answers 429 above the per-chat rate", async () => {
    fake.setBehaviour({ rateLimit: { perSecond: 30, perChatPerSecond: 1, retryAfter: 1 } });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await sender.send('5', { text: `m${i}` }));
    expect(results[0]).toEqual({ ok: true, messageId: expect.any(String) });
    expect(results.filter((r) => !r.ok && 'retryAfterMs' in r).length).toBeGreaterThanOrEqual(1);
    expect(fake.stats.status429).toBeGreaterThanOrEqual(1);
    // Another chat is not held back by the first one's limit.
    await expect(sender.send('6', { text: 'other' })).resolves.toEqual({
      ok: true,
      messageId: expect.any(String),
    });
  });
});

describe('callback data', () => {
  it('round-trips seq and value', () => {
    for (const [seq, value] of [
      [0, 'a'],
      [1, 'yes'],
      [42, 'pain:7'],
      [123456, 'grüße'],
    ] as const) {
      const data = encodeCallbackData(seq, value);
      expect(data).toBe(`${seq}:${value}`);
      expect(decodeCallbackData(data)).toEqual({ seq, value });
    }
  });

  it('enforces the 64-byte limit and names the value', () => {
    // 40 two-byte characters: within the schema's 48 characters, but 80 bytes.
    const wide = 'é'.repeat(40);
    expect(() => encodeCallbackData(1, wide)).toThrow(new RegExp(`${wide}.*${CALLBACK_DATA_MAX_BYTES}`));
    const fits = 'x'.repeat(CALLBACK_DATA_MAX_BYTES - 3);
    expect(() => encodeCallbackData(99, fits)).toThrow(); // longer than a choice value may be
    expect(Buffer.byteLength(encodeCallbackData(10 ** 14, 'x'.repeat(48)))).toBeLessThanOrEqual(64);
    expect(() => encodeCallbackData(10 ** 15, 'x'.repeat(48))).toThrow(/64/);
  });

  it('rejects malformed or forged data', () => {
    for (const data of [
      '',
      'abc',
      ':value',
      '1:',
      '-1:x',
      '01:x',
      '1.5:x',
      ' 1:x',
      'x:1',
      '1:a\nb',
      `1:${'x'.repeat(49)}`,
      `1:${'é'.repeat(40)}`,
      '99999999999999999:x',
    ]) {
      expect(decodeCallbackData(data), data).toBeUndefined();
    }
    expect(decodeCallbackData(42)).toBeUndefined();
    expect(decodeCallbackData(undefined)).toBeUndefined();
  });

  it('refuses to encode what could not be decoded', () => {
    expect(() => encodeCallbackData(-1, 'x')).toThrow();
    expect(() => encodeCallbackData(1.5, 'x')).toThrow();
    expect(() => encodeCallbackData(1, '')).toThrow();
    expect(() => encodeCallbackData(1, 'a\tb')).toThrow();
  });
});
