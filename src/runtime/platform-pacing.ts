import type { Redis } from 'ioredis';
import { slackChannelOf } from '../../adapters/slack/delivery.ts';
import type { Pacing } from '../../jobs/delivery.ts';
import { SendPacer } from '../../jobs/send-pacer.ts';

/**
 * Channels whose pacer this process keeps at once. A pacer holds nothing Redis does not, so one
 * dropped and made again later only loses the sharing of round trips among its senders.
 */
const KEPT_CHANNELS = 10_000;

export interface PlatformRates {
  /** Telegram: messages per second across all chats. */
  telegram: number;
  /** Slack: messages per second to any one channel (a DM included). */
  slackPerChannel: number;
}

/**
 * Each platform's limit as a pace under `key` (shared by every process through Redis): Telegram's
 * one for all chats; Slack's one per channel, behind a gate per workspace, because Slack's
 * retry-after holds the app back in the whole workspace. So a Slack 429 does not stop Telegram
 * messages, nor does Telegram's pace hold Slack's back.
 */
export function platformPacing(redis: Redis, key: string, rates: PlatformRates): Pacing {
  const telegram = new SendPacer(redis, key, rates.telegram);
  const channels = new Map<string, SendPacer>();
  return (recipient) => {
    const slack = slackChannelOf(recipient);
    if (slack === undefined) return telegram;
    const channelKey = `${key}:slack:${slack.teamId}:${slack.channel}`;
    let pacer = channels.get(channelKey);
    if (pacer === undefined) {
      if (channels.size >= KEPT_CHANNELS) channels.delete(channels.keys().next().value as string);
      pacer = new SendPacer(redis, channelKey, rates.slackPerChannel, {
        gate: `${key}:slack:${slack.teamId}`,
      });
      channels.set(channelKey, pacer);
    }
    return pacer;
  };
}
