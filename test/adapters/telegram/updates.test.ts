import type { Update } from 'grammy/types';
import { describe, expect, it } from 'vitest';
import { localeOf, translateUpdate } from '../../../adapters/telegram/updates.ts';
import { inboundEventSchema } from '../../../src/engine/events.ts';

const from = { id: 42, is_bot: false, first_name: 'Pat', language_code: 'de-AT' };
const chat = { id: 42, type: 'private' as const, first_name: 'Pat' };

const message = (text: string, extra: Record<string, unknown> = {}) =>
  ({ update_id: 7, message: { message_id: 1, date: 0, chat, from, text, ...extra } }) as Update;

const tap = (data: string, overrides: Record<string, unknown> = {}) =>
  ({
    update_id: 8,
    callback_query: {
      id: 'q1',
      from,
      chat_instance: 'c',
      data,
      message: {
        message_id: 5,
        date: 0,
        chat,
        text: 'How old are you?',
        reply_markup: { inline_keyboard: [[{ text: '20–39', callback_data: '3:20_39' }]] },
      },
      ...overrides,
    },
  }) as Update;

describe('translateUpdate', () => {
  it('turns a command with a deep-link code into a command event in the user’s language', () => {
    const event = translateUpdate(
      message('/start COACH-7', { entities: [{ type: 'bot_command', offset: 0, length: 6 }] }),
    )?.event;
    expect(event).toEqual({
      id: 'tg|7',
      patientId: 'tg:42',
      localeHint: 'de',
      kind: 'command',
      command: 'start',
      args: 'COACH-7',
    });
    expect(inboundEventSchema.safeParse(event).success).toBe(true);
  });

  it('strips the bot’s name from a command and keeps other text as text', () => {
    const cmd = translateUpdate(
      message('/Today@backcoach_bot', { entities: [{ type: 'bot_command', offset: 0, length: 20 }] }),
    );
    expect(cmd?.event).toMatchObject({ kind: 'command', command: 'today', args: '' });
    expect(translateUpdate(message('my back hurts'))?.event).toMatchObject({
      kind: 'text',
      text: 'my back hurts',
    });
  });

  it('turns a sticker into empty text (a re-prompt) and cuts a huge text to the engine’s limit', () => {
    const sticker = message('', { sticker: { file_id: 's' } });
    delete (sticker.message as unknown as Record<string, unknown>).text;
    expect(translateUpdate(sticker)?.event).toMatchObject({ kind: 'text', text: '' });
    const huge = translateUpdate(message('x'.repeat(10_000)))?.event;
    expect(inboundEventSchema.safeParse(huge).success).toBe(true);
  });

  it('turns a tap into a choice and keeps what is needed to answer and close it', () => {
    expect(translateUpdate(tap('3:20_39'))).toEqual({
      event: { id: 'tg|8', patientId: 'tg:42', localeHint: 'de', kind: 'choice', seq: 3, value: '20_39' },
      tap: { queryId: 'q1', messageId: 5, messageText: 'How old are you?', label: '20–39' },
    });
  });

  it('ignores forged callback data, taps from someone else, group chats and bots', () => {
    expect(translateUpdate(tap('{"seq":3}'))).toBeUndefined();
    expect(translateUpdate(tap('3:20_39', { from: { ...from, id: 43 } }))).toBeUndefined();
    const group = message('/start', { chat: { id: -5, type: 'group', title: 'G' } });
    expect(translateUpdate(group)).toBeUndefined();
    expect(translateUpdate(message('hi', { from: { ...from, is_bot: true } }))).toBeUndefined();
    expect(translateUpdate({ update_id: 9, edited_message: {} } as Update)).toBeUndefined();
  });

  it('turns blocking and unblocking the bot into reachability events', () => {
    const change = (status: string) =>
      ({
        update_id: 10,
        my_chat_member: {
          chat,
          from,
          date: 0,
          old_chat_member: { status: 'member', user: from },
          new_chat_member: { status, user: from },
        },
      }) as unknown as Update;
    expect(translateUpdate(change('kicked'))?.event).toEqual({
      id: 'tg|10',
      patientId: 'tg:42',
      kind: 'reachability',
      reachable: false,
    });
    expect(translateUpdate(change('member'))?.event).toMatchObject({ reachable: true });
  });
});

describe('localeOf', () => {
  it('maps IETF tags to the content’s languages and nothing else', () => {
    expect(localeOf('de')).toBe('de');
    expect(localeOf('en-GB')).toBe('en');
    expect(localeOf('fr')).toBeUndefined();
    expect(localeOf(undefined)).toBeUndefined();
  });
});
