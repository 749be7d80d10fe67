import type { PushedUpdate, SentMessage } from './fake-bot-api.ts';

/**
 * The updates a person in a private Telegram chat sends: typed messages and taps on the bot's
 * buttons. Free of the test runner, so benchmarks drive chats with it too.
 */

type Button = { text: string; callback_data?: string };

export function buttonsOf(message: SentMessage): Button[] {
  const markup = message.replyMarkup as { inline_keyboard?: Button[][] } | undefined;
  return markup?.inline_keyboard?.flat() ?? [];
}

export class TelegramChat {
  private nextMessageId = 1_000_000;
  private nextQueryId = 1;

  constructor(
    readonly chatId: number,
    readonly languageCode = 'en',
  ) {}

  get from() {
    return { id: this.chatId, is_bot: false, first_name: 'Pat', language_code: this.languageCode };
  }

  get chat() {
    return { id: this.chatId, type: 'private' as const, first_name: 'Pat' };
  }

  messageUpdate(text: string): PushedUpdate {
    const command = /^\/\S+/.exec(text);
    return {
      message: {
        message_id: this.nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        chat: this.chat,
        from: this.from,
        text,
        ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}),
      },
    } as PushedUpdate;
  }

  tapUpdate(message: SentMessage, value: string | number): PushedUpdate {
    const button = buttonsOf(message).find((b) => b.callback_data?.endsWith(`:${value}`));
    if (!button?.callback_data) throw new Error(`message ${message.messageId} has no button ${value}`);
    return {
      callback_query: {
        id: `q${this.nextQueryId++}`,
        from: this.from,
        chat_instance: `ci${this.chatId}`,
        data: button.callback_data,
        message: {
          message_id: message.messageId,
          date: Math.floor(message.at / 1000),
          chat: this.chat,
          text: message.text ?? '',
          reply_markup: message.replyMarkup,
        },
      },
    } as unknown as PushedUpdate;
  }
}
