import type { Redis } from 'ioredis';
import { z } from 'zod';
import { pictureApart } from '../../jobs/charts.ts';
import { type DeliveryResult, type Departure, recording } from '../../jobs/delivery.ts';
import type { OutboundMessage } from '../../src/engine/events.ts';
import type { QuestionMessages } from '../../src/runtime/question-messages.ts';
import { keysOf } from '../../src/runtime/store.ts';
import { slackUserOf } from './events.ts';
import type { SlackSender } from './sender.ts';

/** Channel posts (a team's digest) go to `slc:<team>:<channel>` rather than to a patient. */
export const SLACK_CHANNEL_PREFIX = 'slc:';
export const channelRecipientOf = (teamId: string, channel: string) =>
  `${SLACK_CHANNEL_PREFIX}${teamId}:${channel}`;

const lastQuestionSchema = z.object({ seq: z.int(), text: z.string() });

/**
 * One outbox message on Slack. A reply that answers a question first rewrites that question's
 * message without buttons; Slack's update needs the text again, so the text of the latest question
 * is kept (one per patient: typed answers answer the latest; older buttons close when tapped).
 */
export function slackDeliver(sender: SlackSender, questions: QuestionMessages, redis: Redis, prefix: string) {
  return async (
    recipient: string,
    message: OutboundMessage,
    departure?: Departure,
  ): Promise<DeliveryResult> => {
    if (recipient.startsWith(SLACK_CHANNEL_PREFIX)) {
      const [teamId = '', channel = ''] = recipient.slice(SLACK_CHANNEL_PREFIX.length).split(':');
      return sender.postToChannel(teamId, channel, message, departure);
    }
    const platform = keysOf(recipient, prefix).platform;
    if (message.closes !== undefined) {
      const raw = await redis.hget(platform, 'question');
      const last = raw ? lastQuestionSchema.safeParse(JSON.parse(raw)) : undefined;
      if (last?.success && last.data.seq === message.closes) {
        for (const ts of await questions.of(recipient, message.closes)) {
          const closed = await sender.closeMessage(recipient, ts, last.data.text);
          if (!closed.ok && !('rejected' in closed)) return closed;
        }
      }
      await questions.forget(recipient, message.closes);
    }
    // Closing a question is chat.update, which Slack does not count against the channel's posts:
    // the paced request is the message's own.
    const sent = await sender.send(recipient, message, departure);
    if (sent.ok && sent.messageId && message.seq !== undefined && message.choices?.length) {
      const { messageId } = sent;
      const seq = message.seq;
      const recorded = async () => {
        await questions.remember(recipient, seq, messageId);
        await redis.hset(platform, 'question', JSON.stringify({ seq, text: message.text }));
      };
      return { ...sent, recorded: recording(recorded()) };
    }
    return sent;
  };
}

/**
 * The Slack channel a recipient's messages go to, for its pace: a patient's DM (one per user) or a
 * team's channel; undefined for anyone not on Slack.
 */
export function slackChannelOf(recipient: string): { teamId: string; channel: string } | undefined {
  if (recipient.startsWith(SLACK_CHANNEL_PREFIX)) {
    const [teamId, channel] = recipient.slice(SLACK_CHANNEL_PREFIX.length).split(':');
    return teamId && channel ? { teamId, channel } : undefined;
  }
  const user = slackUserOf(recipient);
  return user && { teamId: user.teamId, channel: `@${user.userId}` };
}

/** A message as Slack's requests: a picture is a file upload of its own, before the text. */
export const slackRequests = pictureApart;
