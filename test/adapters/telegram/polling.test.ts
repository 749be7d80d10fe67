import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Service } from '../../../src/runtime/service.ts';
import type { PatientStore } from '../../../src/runtime/store.ts';
import { journey, TestClock } from '../../support/chat-journey.ts';
import { type FakeBotApi, startFakeBotApi } from '../../support/fake-bot-api.ts';
import { useRedis } from '../../support/redis.ts';
import { startTestService } from '../../support/service.ts';
import { TelegramUser, viaPolling } from '../../support/telegram-user.ts';

const redisFixture = useRedis();
const TOKEN = '4711:polling-test';
const clock = new TestClock(Date.parse('2026-04-06T05:00:00Z'));
let fake: FakeBotApi;
let service: Service;
let store: PatientStore;

beforeAll(async () => {
  fake = await startFakeBotApi({ token: TOKEN });
  ({ service, store } = await startTestService(
    redisFixture,
    {
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.apiRoot,
    },
    clock.read,
  ));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

describe('Telegram by long polling, through the real grammY client and runner', () => {
  it('publishes the command menu in each locale', () => {
    const menus = fake.calls('setMyCommands').map((c) => c.payload);
    expect(menus.map((m) => m.language_code)).toEqual([undefined, 'en', 'de']);
    const german = menus.find((m) => m.language_code === 'de')?.commands as {
      command: string;
      description: string;
    }[];
    expect(german.find((c) => c.command === 'today')?.description).toBe('Die heutigen Übungen');
    expect(fake.calls('deleteWebhook')).toHaveLength(1);
  });

  it('coaches a patient from the deep link through a breakthrough and a setback, by taps and typing', async () => {
    const user = new TelegramUser(fake, 5001, viaPolling(fake));
    await journey(user, clock);

    const state = await store.load('tg:5001');
    expect(state?.coachCode).toBe('COACH-7');
    expect(state?.locale).toBe('en');
    expect(state?.days.map((d) => d.decision)).toEqual(['hold', 'hold', 'breakthrough', 'setback']);
    // Every tap was answered, so no spinner was left turning.
    const taps = fake.calls('answerCallbackQuery').length;
    expect(taps).toBeGreaterThan(40);
    // The question answered by typing lost its buttons; tapped ones also show the answer.
    const baseline = user.sent().find((m) => /How bad is your back pain right now/.test(m.text ?? ''));
    expect(
      user.edits().some((e) => e.messageId === baseline?.messageId && e.method === 'editMessageReplyMarkup'),
    ).toBe(true);
    const age = user.sent().find((m) => /How old are you/.test(m.text ?? ''));
    const ageEdits = user.edits().filter((e) => e.messageId === age?.messageId);
    expect(ageEdits).toHaveLength(1);
    const ageEdit = ageEdits[0];
    expect(ageEdit).toMatchObject({ method: 'editMessageText', text: 'How old are you?\n\n✓ 20–39' });
    expect(JSON.stringify(ageEdit?.replyMarkup)).toBe('{"inline_keyboard":[]}');
    // Callback data stays within Telegram's 64 bytes; the pain scale is a compact keyboard.
    const data = user
      .sent()
      .flatMap(
        (m) =>
          (m.replyMarkup as { inline_keyboard: { callback_data: string }[][] } | undefined)
            ?.inline_keyboard ?? [],
      )
      .flat()
      .map((b) => b.callback_data);
    expect(Math.max(...data.map((d) => Buffer.byteLength(d)))).toBeLessThanOrEqual(64);
    const pain = user.sent().find((m) => /How is your back pain today/.test(m.text ?? ''));
    const rows = (pain?.replyMarkup as { inline_keyboard: unknown[][] } | undefined)?.inline_keyboard ?? [];
    expect(rows.flat()).toHaveLength(11);
    expect(rows.length).toBeLessThanOrEqual(2);
  });

  it('answers a stale tap, takes the old buttons away, and changes nothing', async () => {
    const user = new TelegramUser(fake, 5001, viaPolling(fake));
    const before = await store.load('tg:5001');
    const old = user.sent().find((m) => /How old are you/.test(m.text ?? ''));
    if (!old) throw new Error('no age question was sent');
    // The age buttons were closed by the edit; a client that still shows them can still send the tap.
    const reply = await user.act(() => user.push(user.tapUpdate(old, '40_50')), /already been answered/);
    expect(reply.length).toBeGreaterThan(0);
    const after = await store.load('tg:5001');
    expect(after?.profile).toEqual(before?.profile);
  });

  it('re-prompts a sticker kindly, ignores forged callback data, and sends an export as two files', async () => {
    const user = new TelegramUser(fake, 5002, viaPolling(fake), 'de-AT');
    await user.say('/start');
    expect(user.texts().join('\n')).toMatch(/Backcoach/);
    expect((await store.load('tg:5002'))?.locale).toBe('de');

    const sticker = user.messageUpdate('');
    const message = sticker.message as unknown as Record<string, unknown>;
    delete message.text;
    message.sticker = {
      file_id: 's',
      file_unique_id: 's',
      type: 'regular',
      width: 1,
      height: 1,
      is_animated: false,
      is_video: false,
    };
    // The re-prompt ends with the question asked again, its buttons under it.
    await user.act(() => user.push(sticker));

    const answered = fake.calls('answerCallbackQuery').length;
    const forged = user.tapUpdate(user.messageWithButton('yes'), 'yes') as {
      callback_query: { data: string };
    };
    forged.callback_query.data = '{"seq":1}';
    const sentBefore = user.sent().length;
    await user.push(forged as never);
    await vi.waitFor(() => expect(fake.calls('answerCallbackQuery').length).toBe(answered + 1));
    expect(user.sent()).toHaveLength(sentBefore);
    expect((await store.load('tg:5002'))?.status).toBe('new');

    const exporter = new TelegramUser(fake, 5001, viaPolling(fake));
    await exporter.say('/export', /.+/);
    await vi.waitFor(() => expect(fake.calls('sendDocument')).toHaveLength(2));
    const [json, csv] = fake.calls('sendDocument');
    expect(json?.payload.chat_id).toBe('5001');
    expect(JSON.parse(json?.document?.text ?? '{}').state.id).toBe('tg:5001');
    expect(csv?.document?.filename).toMatch(/\.csv$/);
  });

  it('switches the language in /settings', async () => {
    const user = new TelegramUser(fake, 5001, viaPolling(fake));
    await user.say('/settings');
    await user.tap('language');
    const saved = await user.tap('de', /Gespeichert/);
    expect(saved.at(-1)?.text).toMatch(/Sprache Deutsch/);
  });
});
