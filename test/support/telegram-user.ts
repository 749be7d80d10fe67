import { expect, vi } from 'vitest';
import type { FakeBotApi, PushedUpdate, SentMessage } from './fake-bot-api.ts';
import { buttonsOf, TelegramChat } from './telegram-chat.ts';

/** How an update reaches the bot: a getUpdates queue (polling) or an HTTP POST (webhook). */
export type UpdateChannel = (update: PushedUpdate) => Promise<void>;

export const viaPolling =
  (fake: FakeBotApi): UpdateChannel =>
  async (update) => {
    fake.pushUpdate(update);
  };

/** Posts updates to a webhook as Telegram does, numbering them itself. */
export function viaWebhook(url: () => string, secret: string): UpdateChannel & { post: typeof post } {
  let nextId = 1;
  async function post(update: PushedUpdate, headers: Record<string, string>): Promise<Response> {
    const body = JSON.stringify({ ...update, update_id: update.update_id ?? nextId++ });
    return fetch(url(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  }
  const channel = async (update: PushedUpdate) => {
    const res = await post(update, { 'x-telegram-bot-api-secret-token': secret });
    expect(res.status).toBe(200);
  };
  return Object.assign(channel, { post });
}

/**
 * A person in a private Telegram chat with the bot, typing and tapping through the fake Bot API,
 * and reading only what the bot really sent to their chat.
 */
export class TelegramUser extends TelegramChat {
  constructor(
    private readonly fake: FakeBotApi,
    chatId: number,
    private readonly channel: UpdateChannel,
    languageCode = 'en',
  ) {
    super(chatId, languageCode);
  }

  /** Messages the bot sent (not edits) to this chat, in order. */
  sent(): SentMessage[] {
    return this.fake.messages().filter((m) => m.chatId === String(this.chatId) && m.method === 'sendMessage');
  }

  edits(): SentMessage[] {
    return this.fake
      .messages()
      .filter((m) => m.chatId === String(this.chatId) && m.method.startsWith('edit'));
  }

  lastText(): string | undefined {
    return this.sent().at(-1)?.text;
  }

  texts(): string[] {
    return this.sent().map((m) => m.text ?? '');
  }

  /** The newest message that has a button with this value. */
  messageWithButton(value: string | number): SentMessage {
    const found = this.sent()
      .reverse()
      .find((m) => buttonsOf(m).some((b) => b.callback_data?.endsWith(`:${value}`)));
    if (!found) throw new Error(`no message in chat ${this.chatId} has a button ${value}`);
    return found;
  }

  /**
   * Does something and waits until the bot's answer has arrived: by default a new message with
   * buttons (the next question), else a new message matching `until`.
   */
  async act(action: () => Promise<void>, until?: RegExp): Promise<SentMessage[]> {
    const before = this.sent().length;
    await action();
    let fresh: SentMessage[] = [];
    await vi.waitFor(
      () => {
        fresh = this.sent().slice(before);
        const done = until
          ? fresh.some((m) => until.test(m.text ?? ''))
          : fresh.some((m) => buttonsOf(m).length > 0);
        expect(done, `chat ${this.chatId} waited for ${until ?? 'a question'}`).toBe(true);
      },
      { timeout: 15_000, interval: 20 },
    );
    return fresh;
  }

  say(text: string, until?: RegExp): Promise<SentMessage[]> {
    return this.act(() => this.channel(this.messageUpdate(text)), until);
  }

  /** Taps the newest button with this value, as a person would. */
  tap(value: string | number, until?: RegExp): Promise<SentMessage[]> {
    return this.act(() => this.channel(this.tapUpdate(this.messageWithButton(value), value)), until);
  }

  /** Sends a raw update (a sticker, a forged tap) without waiting for anything. */
  push(update: PushedUpdate): Promise<void> {
    return this.channel(update);
  }
}
