import type { Update } from 'grammy/types';
import { LOCALES, type Locale } from '../../src/content/schema.ts';
import type { InboundEvent } from '../../src/engine/events.ts';
import { decodeCallbackData } from './sender.ts';

/** The update kinds the bot asks Telegram for; everything else is never fetched. */
export const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member'] as const;

/** Patient ids carry their platform: `tg:<chat id>` is a private Telegram chat. */
export const TELEGRAM_PREFIX = 'tg:';
export const patientIdOf = (chatId: number | string): string => `${TELEGRAM_PREFIX}${chatId}`;
export const chatIdOf = (patientId: string): string | undefined =>
  patientId.startsWith(TELEGRAM_PREFIX) ? patientId.slice(TELEGRAM_PREFIX.length) : undefined;

/** The longest text the engine takes; Telegram allows 4096 characters per message. */
const MAX_TEXT = 4096;

/** A language the content has, from Telegram's IETF tag (`de`, `de-AT`, `en-GB`); undefined otherwise. */
export function localeOf(languageCode: string | undefined): Locale | undefined {
  const primary = languageCode?.split(/[-_]/)[0]?.toLowerCase();
  return (LOCALES as readonly string[]).includes(primary ?? '') ? (primary as Locale) : undefined;
}

export interface TranslatedUpdate {
  event: InboundEvent;
  /** For a button tap: the callback query to answer and the message that carried the button. */
  tap?: { queryId: string; messageId: number; messageText: string | undefined; label: string | undefined };
}

/**
 * What a Telegram update means to the engine, or undefined when it means nothing to a patient
 * (a group chat, an edited message, a channel post). Only private chats are patients; a callback
 * must come from the chat it was sent to, so a forged or forwarded one cannot act for someone else.
 */
export function translateUpdate(update: Update): TranslatedUpdate | undefined {
  const id = `tg|${update.update_id}`;
  if (update.message) {
    const { message } = update;
    if (message.chat.type !== 'private' || !message.from || message.from.is_bot) return undefined;
    const base = baseOf(id, message.chat.id, message.from.language_code);
    const text = message.text ?? message.caption ?? '';
    const command = commandOf(message.text, message.entities);
    if (command) return { event: { ...base, kind: 'command', command: command.name, args: command.args } };
    // A sticker or a voice note arrives as empty text, which gets a friendly re-prompt.
    return { event: { ...base, kind: 'text', text: text.slice(0, MAX_TEXT) } };
  }
  if (update.callback_query) {
    const query = update.callback_query;
    const message = query.message;
    if (message?.chat.type !== 'private' || message.chat.id !== query.from.id) return undefined;
    const decoded = decodeCallbackData(query.data);
    if (!decoded) return undefined;
    const base = baseOf(id, message.chat.id, query.from.language_code);
    const buttons = 'reply_markup' in message ? (message.reply_markup?.inline_keyboard ?? []) : [];
    const label = buttons.flat().find((b) => 'callback_data' in b && b.callback_data === query.data)?.text;
    return {
      event: { ...base, kind: 'choice', seq: decoded.seq, value: decoded.value },
      tap: {
        queryId: query.id,
        messageId: message.message_id,
        messageText: 'text' in message ? message.text : undefined,
        label,
      },
    };
  }
  if (update.my_chat_member) {
    const change = update.my_chat_member;
    if (change.chat.type !== 'private') return undefined;
    const status = change.new_chat_member.status;
    if (status !== 'kicked' && status !== 'member') return undefined;
    return {
      event: {
        ...baseOf(id, change.chat.id, undefined),
        kind: 'reachability',
        reachable: status === 'member',
      },
    };
  }
  return undefined;
}

function baseOf(id: string, chatId: number, languageCode: string | undefined) {
  const localeHint = localeOf(languageCode);
  return { id, patientId: patientIdOf(chatId), ...(localeHint ? { localeHint } : {}) };
}

/** `/start abc` or `/today@backcoach_bot`: a bot command at the very start of the text. */
function commandOf(
  text: string | undefined,
  entities: { type: string; offset: number; length: number }[] | undefined,
): { name: string; args: string } | undefined {
  const entity = entities?.find((e) => e.type === 'bot_command' && e.offset === 0);
  if (!text || !entity) return undefined;
  const name = (text.slice(1, entity.length).split('@')[0] ?? '').toLowerCase();
  if (name === '') return undefined;
  return { name: name.slice(0, 64), args: text.slice(entity.length).trim().slice(0, 500) };
}
