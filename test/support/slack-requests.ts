import { createHmac, randomUUID } from 'node:crypto';

/**
 * Signed requests to a Bolt HTTPReceiver, shaped as Slack sends them, plus builders for the payloads
 * Backcoach handles. Pair with `fake-slack-api.ts` for the other direction.
 */

export type SlackRequestKind = 'event' | 'interaction' | 'command';

export interface SlackSignatureHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
}

export interface PostSlackOptions {
  /** Seconds since the epoch to sign with and send (default now); Bolt refuses ones over 5 minutes old. */
  timestamp?: number;
  /** null sends no signature headers at all; a string is sent in place of the real signature. */
  signature?: string | null;
  /** Marks the request as Slack's redelivery number N after a timeout. */
  retryNum?: number;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Slack's v0 request signature: https://api.slack.com/authentication/verifying-requests-from-slack */
export function signSlackRequest(
  secret: string,
  body: string,
  timestampSeconds: number = nowSeconds(),
): SlackSignatureHeaders {
  const digest = createHmac('sha256', secret).update(`v0:${timestampSeconds}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${digest}`, 'x-slack-request-timestamp': String(timestampSeconds) };
}

/**
 * Posts `payload` to `url` the way Slack delivers `kind`: an Events API envelope as JSON, an
 * interaction as a form with one JSON `payload` field, a slash command as plain form fields.
 */
export function postSlack(
  url: string,
  secret: string,
  kind: SlackRequestKind,
  payload: object,
  opts: PostSlackOptions = {},
): Promise<Response> {
  let body: string;
  let contentType: string;
  if (kind === 'event') {
    body = JSON.stringify(payload);
    contentType = 'application/json';
  } else if (kind === 'interaction') {
    body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    contentType = 'application/x-www-form-urlencoded';
  } else {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(payload)) {
      if (value !== undefined && value !== null) form.append(key, String(value));
    }
    body = form.toString();
    contentType = 'application/x-www-form-urlencoded';
  }

  const headers: Record<string, string> = { 'content-type': contentType };
  if (opts.signature !== null) {
    const signed = signSlackRequest(secret, body, opts.timestamp ?? nowSeconds());
    headers['x-slack-request-timestamp'] = signed['x-slack-request-timestamp'];
    headers['x-slack-signature'] = opts.signature ?? signed['x-slack-signature'];
  }
  if (opts.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(opts.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  return fetch(url, { method: 'POST', headers, body });
}

let sequence = 0;

/** A ts unique within the test run, in Slack's `seconds.micros` form. */
export function uniqueTs(): string {
  sequence++;
  return `${nowSeconds()}.${String(sequence % 1_000_000).padStart(6, '0')}`;
}

export interface EventEnvelope<E = Record<string, unknown>> {
  token: string;
  team_id: string;
  api_app_id: string;
  type: 'event_callback';
  event_id: string;
  event_time: number;
  authorizations: {
    enterprise_id: null;
    team_id: string;
    user_id: string;
    is_bot: boolean;
    is_enterprise_install: boolean;
  }[];
  is_ext_shared_channel: boolean;
  event: E;
}

/** Wraps an event as Slack delivers it; `eventId` defaults to a fresh one (Slack dedupes on it). */
export function eventEnvelope<E>(args: { teamId: string; eventId?: string; event: E }): EventEnvelope<E> {
  sequence++;
  return {
    token: 'x',
    team_id: args.teamId,
    api_app_id: 'A1',
    type: 'event_callback',
    event_id: args.eventId ?? `Ev${String(sequence).padStart(8, '0')}`,
    event_time: nowSeconds(),
    // Bolt reads the installing workspace from here before team_id.
    authorizations: [
      {
        enterprise_id: null,
        team_id: args.teamId,
        user_id: 'UBOT',
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event: args.event,
  };
}

/** A user's message in their DM with the app (channel `D<user>` unless given). */
export function dmMessage(args: { user: string; text: string; channel?: string; ts?: string }) {
  const ts = args.ts ?? uniqueTs();
  return {
    type: 'message' as const,
    client_msg_id: randomUUID(),
    channel: args.channel ?? `D${args.user}`,
    channel_type: 'im' as const,
    user: args.user,
    text: args.text,
    ts,
    event_ts: ts,
  };
}

/** A button press on a message, as the `block_actions` interaction payload Slack posts. */
export function blockAction(args: {
  teamId: string;
  user: string;
  channel: string;
  messageTs: string;
  actionId: string;
  value: string;
  text?: string;
}) {
  const actionTs = uniqueTs();
  return {
    type: 'block_actions' as const,
    token: 'x',
    team: { id: args.teamId, domain: args.teamId.toLowerCase() },
    user: { id: args.user, team_id: args.teamId, username: args.user, name: args.user },
    api_app_id: 'A1',
    enterprise: null,
    is_enterprise_install: false,
    container: {
      type: 'message' as const,
      message_ts: args.messageTs,
      channel_id: args.channel,
      is_ephemeral: false,
    },
    channel: { id: args.channel, name: 'directmessage' },
    message: {
      type: 'message',
      ts: args.messageTs,
      user: 'UBOT',
      bot_id: 'BBOT',
      text: args.text ?? '',
      blocks: [] as unknown[],
    },
    state: { values: {} },
    trigger_id: `${sequence}.1.${args.actionId}`,
    response_url: `https://hooks.slack.com/actions/${args.teamId}/1/${args.actionId}`,
    actions: [
      {
        type: 'button' as const,
        action_id: args.actionId,
        block_id: 'b',
        value: args.value,
        text: { type: 'plain_text' as const, text: args.text ?? args.value, emoji: true },
        action_ts: actionTs,
      },
    ],
  };
}

/** The user opening the app's Home tab (wrap it with `eventEnvelope`). */
export function homeOpened(args: { teamId: string; user: string }) {
  return {
    type: 'app_home_opened' as const,
    user: args.user,
    channel: `D${args.user}`,
    tab: 'home' as const,
    event_ts: uniqueTs(),
    view: { id: 'V1', team_id: args.teamId, type: 'home' as const },
  };
}
