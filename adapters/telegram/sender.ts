import { Api, GrammyError, InputFile } from 'grammy';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import type { DeliveryResult, Departure } from '../../jobs/delivery.ts';
import type { Choice, OutboundMessage } from '../../src/engine/events.ts';
import { watchDepartures } from './departures.ts';

export type { DeliveryResult };

/** Telegram's limit on a button's callback data, in bytes. */
export const CALLBACK_DATA_MAX_BYTES = 64;
/** The longest choice value an inbound `choice` event accepts (see inboundEventSchema). */
const CHOICE_VALUE_MAX_CHARS = 48;
/** Sent as the seq of a keyboard whose message asks no question: no question has it, so a tap is stale. */
const NO_QUESTION_SEQ = 0;
export const DEFAULT_TIMEOUT_SECONDS = 15;
/** The most a photo's caption holds. */
export const CAPTION_MAX_CHARS = 1024;

// seq: a canonical non-negative decimal (no sign, no leading zeros), value: no control characters.
const CALLBACK_DATA = /^(0|[1-9]\d{0,15}):([^\p{Cc}]+)$/u;
const CONTROL = /[\p{Cc}]/u;

/**
 * The callback data of one button: `${seq}:${value}`. Throws when it would not fit Telegram's 64
 * bytes or would not come back as a valid choice, so a bad content value fails loudly at send time.
 */
export function encodeCallbackData(seq: number, value: string): string {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new Error(`callback data: seq must be a non-negative integer, got ${seq}`);
  }
  if (value.length === 0 || CONTROL.test(value)) {
    throw new Error(
      `callback data: choice value ${JSON.stringify(value)} is empty or has control characters`,
    );
  }
  if (value.length > CHOICE_VALUE_MAX_CHARS) {
    throw new Error(
      `callback data: choice value ${JSON.stringify(value)} is longer than ${CHOICE_VALUE_MAX_CHARS} characters`,
    );
  }
  const data = `${seq}:${value}`;
  const bytes = Buffer.byteLength(data, 'utf8');
  if (bytes > CALLBACK_DATA_MAX_BYTES) {
    throw new Error(
      `callback data: choice value ${JSON.stringify(value)} with seq ${seq} takes ${bytes} bytes, ` +
        `Telegram allows ${CALLBACK_DATA_MAX_BYTES}`,
    );
  }
  return data;
}

/** The seq and value of a button's callback data, or undefined for anything encodeCallbackData cannot produce. */
export function decodeCallbackData(data: unknown): { seq: number; value: string } | undefined {
  if (typeof data !== 'string' || data.length === 0) return undefined;
  if (Buffer.byteLength(data, 'utf8') > CALLBACK_DATA_MAX_BYTES) return undefined;
  const match = CALLBACK_DATA.exec(data);
  if (match === null) return undefined;
  const seq = Number(match[1]);
  const value = match[2] as string;
  if (!Number.isSafeInteger(seq) || value.length > CHOICE_VALUE_MAX_CHARS) return undefined;
  return { seq, value };
}

/** An inline keyboard with one row per row of choices, or undefined when there is no button. */
export function inlineKeyboard(
  choices: Choice[][] | undefined,
  seq: number | undefined,
): InlineKeyboardMarkup | undefined {
  if (!choices) return undefined;
  const rows: InlineKeyboardButton[][] = [];
  for (const row of choices) {
    if (row.length === 0) continue;
    rows.push(
      row.map((choice) => ({
        text: choice.label,
        callback_data: encodeCallbackData(seq ?? NO_QUESTION_SEQ, choice.value),
      })),
    );
  }
  return rows.length > 0 ? { inline_keyboard: rows } : undefined;
}

export interface TelegramSenderOptions {
  token: string;
  /** A Bot API root without a trailing slash (self-hosted server, or the tests' fake). */
  apiRoot?: string;
  /** Give up on one request after this long and throw, so the queue retries (default 15 s). */
  timeoutSeconds?: number;
}

export interface TelegramSender {
  /**
   * Delivers one message to one chat. Resolves `{ok:true}`, `{ok:false, retryAfterMs}` on 429,
   * `{ok:false, blocked:true}` when the user blocked the bot or is deactivated; throws on every
   * other failure (5xx, other 4xx, network, timeout) for the delivery queue to retry. A request
   * leaving after its `departure`'s `lateAfter` tells it so as it leaves.
   */
  send(chatId: string, message: OutboundMessage, departure?: Departure): Promise<DeliveryResult>;
  /**
   * Takes the buttons off a message, optionally replacing its text (to show the answer given).
   * A message already without buttons, or gone, counts as done.
   */
  closeMessage(chatId: string, messageId: number, text?: string): Promise<DeliveryResult>;
  /** The underlying grammY client (for the bot's other calls on the same connection pool). */
  readonly api: Api;
}

const BLOCKED_DESCRIPTION = /blocked|deactivated|kicked/i;

/** Maps an answer Telegram gives about the user rather than about the request; undefined otherwise. */
export function deliveryResultOf(error: unknown): DeliveryResult | undefined {
  if (!(error instanceof GrammyError)) return undefined;
  if (error.error_code === 429) {
    const seconds = error.parameters?.retry_after;
    return { ok: false, retryAfterMs: (typeof seconds === 'number' && seconds > 0 ? seconds : 1) * 1000 };
  }
  if (error.error_code === 403 && BLOCKED_DESCRIPTION.test(error.description)) {
    return { ok: false, blocked: true };
  }
  // Any other 4xx is the platform refusing this message for good (chat not found, text too long):
  // retrying cannot help.
  if (error.error_code >= 400 && error.error_code < 500) return { ok: false, rejected: error.description };
  return undefined;
}

/** An edit Telegram refuses because there is nothing left to change (or nothing to change): done. */
const NOTHING_TO_EDIT = /message is not modified|message to edit not found|message can't be edited/i;

/**
 * Telegram delivery with the real grammY client and no retry plugin: the outbox queue owns retries
 * and rate limits.
 */
export function createTelegramSender(opts: TelegramSenderOptions): TelegramSender {
  const departures = watchDepartures(opts.apiRoot ?? 'https://api.telegram.org');
  const api = new Api(opts.token, {
    ...(opts.apiRoot !== undefined ? { apiRoot: opts.apiRoot } : {}),
    timeoutSeconds: opts.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    baseFetchConfig: { agent: departures.agent },
  });

  async function send(
    chatId: string,
    message: OutboundMessage,
    departure?: Departure,
  ): Promise<DeliveryResult> {
    const replyMarkup = inlineKeyboard(message.choices, message.seq);
    const markup = replyMarkup ? { reply_markup: replyMarkup } : {};
    try {
      if (message.image) {
        const photo = new InputFile(Buffer.from(message.image.png, 'base64'), 'chart.png');
        // A caption holds 1024 characters; a longer text follows the picture as its own message.
        if (message.text.length <= CAPTION_MAX_CHARS) {
          const caption = message.text ? { caption: message.text } : {};
          const sent = await departures.departing(departure, () =>
            api.sendPhoto(chatId, photo, { ...caption, ...markup }),
          );
          return { ok: true, messageId: String(sent.message_id) };
        }
        await departures.departing(departure, () => api.sendPhoto(chatId, photo));
        // The text's request leaves after the photo's answer, on no slot of its own.
        departure = undefined;
      }
      const sent = await departures.departing(departure, () => api.sendMessage(chatId, message.text, markup));
      return { ok: true, messageId: String(sent.message_id) };
    } catch (error) {
      const result = deliveryResultOf(error);
      if (result) return result;
      throw error;
    }
  }

  async function closeMessage(chatId: string, messageId: number, text?: string): Promise<DeliveryResult> {
    const none = { reply_markup: { inline_keyboard: [] } };
    try {
      if (text !== undefined) await api.editMessageText(chatId, messageId, text, none);
      else await api.editMessageReplyMarkup(chatId, messageId, none);
      return { ok: true };
    } catch (error) {
      if (error instanceof GrammyError && error.error_code === 400 && NOTHING_TO_EDIT.test(error.description))
        return { ok: true };
      const result = deliveryResultOf(error);
      if (result) return result;
      throw error;
    }
  }

  return { send, closeMessage, api };
}
