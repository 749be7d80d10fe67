import type { HomeView } from '@slack/types';
import { ErrorCode, type Logger, LogLevel, WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { type DeliveryResult, type Departure, tellIfLate } from '../../jobs/delivery.ts';
import type { OutboundMessage } from '../../src/engine/events.ts';
import { keysOf } from '../../src/runtime/store.ts';
import { closedBlocks, messageBlocks } from './blocks.ts';
import { slackUserOf } from './events.ts';

/** Answers about the person rather than the request: they cannot be reached in a DM any more. */
const UNREACHABLE = new Set([
  'account_inactive',
  'user_not_found',
  'user_disabled',
  'cannot_dm_bot',
  'user_not_visible',
]);

export interface SlackSenderOptions {
  /** The Web API root ending in `/api/` (GovSlack, or the tests' fake); Slack's by default. */
  apiUrl?: string;
  /** The bot token of a workspace: from the environment, or its OAuth installation. */
  tokenFor: (teamId: string) => Promise<string>;
  redis: Redis;
  prefix: string;
  /** Where the Web API client's own warnings go (`boltLogger`); the console otherwise. */
  logger?: Logger;
}

/** One Slack platform error mapped as the outbox needs it; undefined for errors worth retrying. */
export function deliveryResultOf(error: unknown): DeliveryResult | undefined {
  const e = error as { code?: string; retryAfter?: number; data?: { error?: string } };
  if (e?.code === ErrorCode.RateLimitedError)
    return { ok: false, retryAfterMs: Math.max(1, e.retryAfter ?? 1) * 1000 };
  if (e?.code === ErrorCode.PlatformError) {
    const reason = e.data?.error ?? 'unknown';
    return UNREACHABLE.has(reason) ? { ok: false, blocked: true } : { ok: false, rejected: reason };
  }
  return undefined;
}

/** Block Kit cannot carry our own picture without hosting it, so a chart goes up as a file first. */
async function uploadImage(c: WebClient, channel: string, message: OutboundMessage): Promise<void> {
  if (!message.image) return;
  await c.filesUploadV2({
    channel_id: channel,
    file_uploads: [
      { file: Buffer.from(message.image.png, 'base64'), filename: 'chart.png', alt_text: message.image.alt },
    ],
  });
}

async function attempt(call: () => Promise<DeliveryResult>): Promise<DeliveryResult> {
  try {
    return await call();
  } catch (error) {
    const result = deliveryResultOf(error);
    if (result) return result;
    throw error;
  }
}

/**
 * Slack delivery with the real Web API client, its own retries and rate-limit handling switched
 * off: the outbox owns retries and waits out `Retry-After` for the whole queue.
 */
export function createSlackSender(opts: SlackSenderOptions) {
  const clients = new Map<string, WebClient>();
  async function client(teamId: string): Promise<WebClient> {
    const token = await opts.tokenFor(teamId);
    let c = clients.get(token);
    if (!c) {
      c = new WebClient(token, {
        ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        ...(opts.logger ? { logger: opts.logger } : { logLevel: LogLevel.ERROR }),
      });
      clients.set(token, c);
    }
    return c;
  }

  const platformKey = (patientId: string) => keysOf(patientId, opts.prefix).platform;
  function userOf(patientId: string) {
    const user = slackUserOf(patientId);
    if (!user) throw new Error(`not a Slack patient: ${patientId}`);
    return user;
  }

  /** The DM channel, opened once and remembered with the patient's other platform records. */
  async function dmChannel(patientId: string): Promise<string> {
    const known = await opts.redis.hget(platformKey(patientId), 'dm');
    if (known) return known;
    const { teamId, userId } = userOf(patientId);
    const opened = await (await client(teamId)).conversations.open({ users: userId });
    const channel = opened.channel?.id;
    if (!channel) throw new Error(`conversations.open gave no channel for ${patientId}`);
    await opts.redis.hset(platformKey(patientId), 'dm', channel);
    return channel;
  }

  return {
    client,
    dmChannel,

    /**
     * `departure`: when the message's request was due to leave (its pace's slot). Slack's client
     * makes the request some awaits after it is called, so the request is taken to leave as the call
     * is made: the waits before it (the DM channel's lookup, the token) count as lateness.
     */
    async send(patientId: string, message: OutboundMessage, departure?: Departure): Promise<DeliveryResult> {
      return attempt(async () => {
        const channel = await dmChannel(patientId);
        const { teamId } = userOf(patientId);
        const c = await client(teamId);
        tellIfLate(departure);
        await uploadImage(c, channel, message);
        if (!message.text) return { ok: true };
        const posted = await c.chat.postMessage({ channel, ...messageBlocks(message) });
        return { ok: true, ...(posted.ts ? { messageId: posted.ts } : {}) };
      });
    },

    /** Rewrites a question's message without its buttons, with the answer given when known. */
    async closeMessage(
      patientId: string,
      ts: string,
      text: string,
      answer?: string,
    ): Promise<DeliveryResult> {
      return attempt(async () => {
        const channel = await dmChannel(patientId);
        const { teamId } = userOf(patientId);
        await (await client(teamId)).chat.update({ channel, ts, ...closedBlocks(text, answer) });
        return { ok: true };
      });
    },

    async publishHome(patientId: string, view: HomeView): Promise<void> {
      const { teamId, userId } = userOf(patientId);
      await (await client(teamId)).views.publish({ user_id: userId, view });
    },

    /** The patient's export as two files in their DM. */
    async sendFiles(patientId: string, files: { filename: string; content: string }[]) {
      const channel = await dmChannel(patientId);
      const { teamId } = userOf(patientId);
      await (await client(teamId)).filesUploadV2({
        channel_id: channel,
        file_uploads: files.map((f) => ({ file: Buffer.from(f.content), filename: f.filename })),
      });
    },

    /** `departure`: as for `send`. */
    async postToChannel(
      teamId: string,
      channel: string,
      message: OutboundMessage,
      departure?: Departure,
    ): Promise<DeliveryResult> {
      return attempt(async () => {
        const c = await client(teamId);
        tellIfLate(departure);
        await uploadImage(c, channel, message);
        if (!message.text) return { ok: true };
        const posted = await c.chat.postMessage({ channel, ...messageBlocks(message) });
        return { ok: true, ...(posted.ts ? { messageId: posted.ts } : {}) };
      });
    },
  };
}

export type SlackSender = ReturnType<typeof createSlackSender>;
