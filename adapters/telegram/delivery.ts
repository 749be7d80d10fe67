import { pictureApart } from '../../jobs/charts.ts';
import { type DeliveryResult, type Departure, recording } from '../../jobs/delivery.ts';
import type { OutboundMessage } from '../../src/engine/events.ts';
import type { QuestionMessages } from '../../src/runtime/question-messages.ts';
import { CAPTION_MAX_CHARS, type TelegramSender } from './sender.ts';
import { chatIdOf } from './updates.ts';

/**
 * One outbox message to a Telegram patient: first close the question it answers (its buttons come
 * off, so they cannot be pressed twice), then send it, then remember which message carries its own
 * buttons (`recorded`, awaited after the message's turn). Each part is safe to repeat, so a retried
 * job does no harm.
 */
export function telegramDeliver(sender: TelegramSender, questions: QuestionMessages) {
  return async (
    patientId: string,
    message: OutboundMessage,
    departure?: Departure,
  ): Promise<DeliveryResult> => {
    const chatId = chatIdOf(patientId);
    if (chatId === undefined) throw new Error(`not a Telegram patient: ${patientId}`);
    if (message.closes !== undefined) {
      for (const messageId of await questions.of(patientId, message.closes)) {
        const closed = await sender.closeMessage(chatId, Number(messageId));
        if (!closed.ok && !('rejected' in closed)) return closed;
      }
      await questions.forget(patientId, message.closes);
    }
    // The slot is the message's, whose rate the platform counts; the closing edits may have made it late.
    const sent = await sender.send(chatId, message, departure);
    if (sent.ok && sent.messageId !== undefined && message.seq !== undefined && message.choices?.length) {
      return { ...sent, recorded: recording(questions.remember(patientId, message.seq, sent.messageId)) };
    }
    return sent;
  };
}

/** A message as Telegram's requests: a picture whose text is too long for its caption goes first, alone. */
export function telegramRequests(message: OutboundMessage): OutboundMessage[] {
  return message.text.length > CAPTION_MAX_CHARS ? pictureApart(message) : [message];
}
