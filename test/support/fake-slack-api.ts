import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Installation } from '@slack/oauth';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A fake Slack Web API server on loopback, for end-to-end tests: point the real `WebClient` (or Bolt's
 * `clientOptions`) at it with `slackApiUrl: fake.apiUrl` and it answers the methods Backcoach uses with
 * plausible results, with optional per-workspace tokens, rate limits, server errors and deactivated
 * users. The counterpart of `fake-bot-api.ts` for Telegram.
 *
 * `apiUrl` is `http://127.0.0.1:PORT/api/`, trailing slash included, because WebClient appends the
 * method name straight onto `slackApiUrl`. A doubled slash (`${apiUrl}/`) is tolerated all the same.
 */

export interface SlackRateLimitBehaviour {
  /** Fraction (0..1) of calls to the fault methods answered 429. */
  rate: number;
  /** Seconds put in the 429 answer's `Retry-After` header. */
  retryAfter: number;
}

export interface FakeSlackApiBehaviour {
  rateLimited?: SlackRateLimitBehaviour;
  /** Fraction (0..1) of calls to the fault methods answered HTTP 500. */
  failRate?: number;
  /**
   * Methods the random faults apply to. Default: chat.postMessage, chat.update and views.publish, so
   * auth.test and user look-ups at start-up still work.
   */
  methods?: readonly string[];
  /** User ids whose account is deactivated: chat.postMessage to `D<user>` answers `account_inactive`. */
  blockedUsers?: Set<string>;
  /**
   * Slack's chat.postMessage limit of about one per second per channel: a post that comes sooner than
   * three quarters of `1 / perChannelPerSecond` after the last one accepted in its channel is answered
   * 429 (Slack allows short bursts; the slack covers a request that left a little late).
   */
  perChannelPerSecond?: number;
}

export interface FakeSlackApiOptions extends FakeSlackApiBehaviour {
  /**
   * Bot token → team id. When given, a request with another token answers `invalid_auth` (and one with
   * none `not_authed`), HTTP 200 as Slack does. Without it every token is accepted as team `T1`.
   */
  tokens?: Record<string, string>;
  /** Random source for faults (default Math.random), for reproducible runs. */
  random?: () => number;
  /**
   * The app-level token `apps.connections.open` takes (Socket Mode); another answers
   * `invalid_auth`. Without it any `xapp-` token is taken.
   */
  appToken?: string;
}

/** What Slack puts in a Socket Mode envelope's `type`, by what it carries. */
export type SocketEnvelopeType = 'events_api' | 'interactive' | 'slash_commands';

/**
 * Slack's side of Socket Mode: `apps.connections.open` hands out a WebSocket URL on this server,
 * which greets the app with `hello` and then sends it envelopes, each to be acknowledged.
 */
export interface FakeSocketMode {
  /** Connections open now. */
  readonly open: number;
  /** Connections opened so far, reconnections included. */
  readonly opened: number;
  /**
   * Sends an envelope on the newest open connection and resolves with the app's acknowledgement
   * (`payload` holds what it answered, for a slash command); rejects when no connection is open or
   * no acknowledgement comes within `timeoutMs` (default 3,000, Slack's own limit).
   */
  deliver(
    type: SocketEnvelopeType,
    payload: object,
    opts?: { retryAttempt?: number; timeoutMs?: number },
  ): Promise<{ envelope_id: string; payload?: unknown }>;
  /** Asks the app to reconnect, as Slack does every few hours: a `disconnect` message, then the close. */
  refresh(): void;
}

export interface FakeSlackUser {
  /** IANA zone (default Europe/London); `tz_offset` is derived from it at the time of the call. */
  tz?: string;
  /** Only returned when the call asks for `include_locale`, as Slack does (default en-GB). */
  locale?: string;
  isAdmin?: boolean;
  /** Display and real name (default the user id). */
  name?: string;
}

/** A call that got past auth and the injected faults, with what it was given. */
export interface SlackRecordedCall {
  method: string;
  /** Form or JSON fields; JSON-valued form fields (blocks, view, …) parsed; `token` removed. */
  payload: Record<string, unknown>;
  /** Bearer token (or `token` field) the call used, to tell which workspace's token was picked. */
  token: string | undefined;
  /** Date.now() when the server accepted it. */
  at: number;
  /** What the fake answered (a posted message's `ts`, to tap its buttons). */
  response: Record<string, unknown>;
}

export interface FakeSlackApiStats {
  /** Requests per method name (every request, whatever its answer). */
  requests: Map<string, number>;
  status429: number;
  status500: number;
}

export interface FakeSlackUpload {
  id: string;
  filename: string;
  /** The raw body of the upload request (the file's bytes as text, possibly form-wrapped). */
  body: string;
  /** Set by files.completeUploadExternal. */
  channel?: string;
}

export interface FakeSlackApi {
  /** `http://127.0.0.1:PORT/api/`, for WebClient's `slackApiUrl`. */
  readonly apiUrl: string;
  /** Live counters (the same object throughout; see `resetStats`). */
  readonly stats: FakeSlackApiStats;
  /** Merges into the current behaviour; a key given as undefined switches that behaviour off. */
  setBehaviour(behaviour: FakeSlackApiBehaviour): void;
  /** Adds or replaces a user in the directory users.info answers from. */
  setUser(id: string, user?: FakeSlackUser): void;
  /** Every recorded call, or those of one method. */
  calls(method?: string): SlackRecordedCall[];
  /** Files uploaded through files.uploadV2's three steps, with the channel they were shared in. */
  uploads(): FakeSlackUpload[];
  /** Slack's side of Socket Mode. */
  readonly socketMode: FakeSocketMode;
  /** Zeroes the counters and forgets recorded calls. */
  resetStats(): void;
  /** Closes the server and every connection, keep-alive ones included. */
  stop(): Promise<void>;
}

const DEFAULT_FAULT_METHODS = ['chat.postMessage', 'chat.update', 'views.publish'];
const DEFAULT_TEAM = 'T1';
const BOT_USER_ID = 'UBOT';
const BOT_ID = 'BBOT';
const APP_ID = 'A1';
const TS_BASE_SECONDS = 1_700_000_000;

type Payload = Record<string, unknown>;

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function parseForm(text: string, into: Payload): Payload {
  for (const [key, value] of new URLSearchParams(text)) {
    // WebClient flattens objects and arrays (blocks, view, …) into JSON strings in the form.
    into[key] = value.startsWith('{') || value.startsWith('[') ? tryJson(value) : value;
  }
  return into;
}

function parsePayload(req: IncomingMessage, body: string, query: string): Payload | undefined {
  const payload = parseForm(query, {});
  if (body.length === 0) return payload;
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
      return { ...payload, ...(parsed as Payload) };
    } catch {
      return undefined;
    }
  }
  if (type.startsWith('application/x-www-form-urlencoded')) return parseForm(body, payload);
  return undefined;
}

function bearerToken(req: IncomingMessage, payload: Payload): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  return typeof payload.token === 'string' && payload.token.length > 0 ? payload.token : undefined;
}

function stringField(payload: Payload, key: string): string | undefined {
  const value = payload[key];
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

/** Seconds east of UTC for `zone` at `at`; 0 for a zone the runtime does not know. */
function tzOffsetSeconds(zone: string, at: number): number {
  try {
    const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(at)
      .find((p) => p.type === 'timeZoneName')?.value;
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name ?? '');
    if (!m) return 0;
    const seconds = Number(m[2]) * 3600 + Number(m[3]) * 60;
    return m[1] === '-' ? -seconds : seconds;
  } catch {
    return 0;
  }
}

/** Posting to a user id lands in the app's DM with them, which Slack reports as the D channel. */
function dmChannelOf(channel: string): string {
  return /^[UW]/.test(channel) ? `D${channel}` : channel;
}

export async function startFakeSlackApi(opts: FakeSlackApiOptions = {}): Promise<FakeSlackApi> {
  const random = opts.random ?? Math.random;
  const tokens = opts.tokens;

  let behaviour: FakeSlackApiBehaviour = {};
  let faultMethods = new Set<string>(DEFAULT_FAULT_METHODS);
  function applyBehaviour(patch: FakeSlackApiBehaviour): void {
    behaviour = { ...behaviour, ...patch };
    if ('methods' in patch) faultMethods = new Set(behaviour.methods ?? DEFAULT_FAULT_METHODS);
  }
  applyBehaviour({
    rateLimited: opts.rateLimited,
    failRate: opts.failRate,
    methods: opts.methods,
    blockedUsers: opts.blockedUsers,
    perChannelPerSecond: opts.perChannelPerSecond,
  });
  /** When each channel last had a post accepted (ms). */
  const lastPostAt = new Map<string, number>();

  const stats: FakeSlackApiStats = { requests: new Map(), status429: 0, status500: 0 };
  let calls: SlackRecordedCall[] = [];
  const users = new Map<string, FakeSlackUser>();
  const uploads = new Map<string, FakeSlackUpload>();
  let tsCounter = 100;
  let stopped = false;

  // Slack's ts doubles as a message id and sorts as a string; a fixed base keeps tests readable.
  function nextTs(): string {
    tsCounter++;
    const seconds = TS_BASE_SECONDS + Math.floor(tsCounter / 1_000_000);
    return `${seconds}.${String(tsCounter % 1_000_000).padStart(6, '0')}`;
  }

  function teamOf(token: string | undefined): string {
    return (token !== undefined ? tokens?.[token] : undefined) ?? DEFAULT_TEAM;
  }

  function handleMethod(method: string, payload: Payload, token: string | undefined): unknown {
    const teamId = teamOf(token);
    switch (method) {
      case 'files.getUploadURLExternal': {
        const id = `F${uploads.size + 1}`;
        uploads.set(id, { id, filename: String(payload.filename ?? ''), body: '' });
        const { port } = server.address() as AddressInfo;
        return { ok: true, upload_url: `http://127.0.0.1:${port}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const files = (Array.isArray(payload.files) ? payload.files : []) as { id: string; title?: string }[];
        for (const f of files) {
          const upload = uploads.get(f.id);
          if (upload && typeof payload.channel_id === 'string') upload.channel = payload.channel_id;
        }
        return { ok: true, files: files.map((f) => ({ id: f.id, title: f.title ?? '' })) };
      }
      case 'apps.connections.open': {
        const { port } = server.address() as AddressInfo;
        return { ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=${randomUUID()}` };
      }
      case 'auth.test':
        return {
          ok: true,
          url: `https://${teamId.toLowerCase()}.slack.com/`,
          team: `Team ${teamId}`,
          user: 'backcoach',
          team_id: teamId,
          user_id: BOT_USER_ID,
          bot_id: BOT_ID,
          is_enterprise_install: false,
        };
      case 'team.info':
        return {
          ok: true,
          team: { id: teamId, name: `Team ${teamId}`, domain: teamId.toLowerCase() },
        };
      case 'conversations.open': {
        const first = stringField(payload, 'users')?.split(',')[0]?.trim();
        if (!first) return { ok: false, error: 'users_list_not_supplied' };
        return { ok: true, channel: { id: `D${first}` } };
      }
      case 'chat.postMessage': {
        let channel = stringField(payload, 'channel');
        if (channel === undefined) return { ok: false, error: 'channel_not_found' };
        channel = dmChannelOf(channel);
        const text = stringField(payload, 'text');
        const blocks = Array.isArray(payload.blocks) ? payload.blocks : undefined;
        if (text === undefined && (blocks === undefined || blocks.length === 0)) {
          return { ok: false, error: 'no_text' };
        }
        if (channel.startsWith('D') && behaviour.blockedUsers?.has(channel.slice(1))) {
          return { ok: false, error: 'account_inactive' };
        }
        const ts = nextTs();
        return {
          ok: true,
          channel,
          ts,
          message: {
            type: 'message',
            user: BOT_USER_ID,
            bot_id: BOT_ID,
            app_id: APP_ID,
            team: teamId,
            text: text ?? '',
            ...(blocks !== undefined ? { blocks } : {}),
            ...(payload.thread_ts !== undefined ? { thread_ts: payload.thread_ts } : {}),
            ts,
          },
        };
      }
      case 'chat.update': {
        const channel = stringField(payload, 'channel');
        const ts = stringField(payload, 'ts');
        if (channel === undefined) return { ok: false, error: 'channel_not_found' };
        if (ts === undefined) return { ok: false, error: 'message_not_found' };
        const text = stringField(payload, 'text') ?? '';
        const blocks = Array.isArray(payload.blocks) ? payload.blocks : undefined;
        return {
          ok: true,
          channel,
          ts,
          text,
          message: { text, user: BOT_USER_ID, bot_id: BOT_ID, ...(blocks !== undefined ? { blocks } : {}) },
        };
      }
      case 'chat.postEphemeral': {
        if (stringField(payload, 'channel') === undefined) return { ok: false, error: 'channel_not_found' };
        if (stringField(payload, 'user') === undefined) return { ok: false, error: 'user_not_in_channel' };
        return { ok: true, message_ts: nextTs() };
      }
      case 'views.publish': {
        if (stringField(payload, 'user_id') === undefined) return { ok: false, error: 'invalid_arguments' };
        const view = payload.view;
        if (view === null || typeof view !== 'object' || Array.isArray(view)) {
          return { ok: false, error: 'invalid_arguments' };
        }
        return {
          ok: true,
          view: {
            id: 'V1',
            team_id: teamId,
            type: 'home',
            private_metadata: '',
            callback_id: '',
            hash: `${Date.now()}.hash`,
            app_id: APP_ID,
            bot_id: BOT_ID,
            ...(view as Payload),
          },
        };
      }
      case 'users.info': {
        const id = stringField(payload, 'user');
        const user = id === undefined ? undefined : users.get(id);
        if (id === undefined || user === undefined) return { ok: false, error: 'user_not_found' };
        const tz = user.tz ?? 'Europe/London';
        const name = user.name ?? id;
        return {
          ok: true,
          user: {
            id,
            team_id: teamId,
            name,
            real_name: name,
            deleted: behaviour.blockedUsers?.has(id) ?? false,
            tz,
            tz_label: tz,
            tz_offset: tzOffsetSeconds(tz, Date.now()),
            ...(isTrue(payload.include_locale) ? { locale: user.locale ?? 'en-GB' } : {}),
            is_admin: user.isAdmin ?? false,
            is_owner: false,
            is_bot: false,
            profile: { real_name: name, display_name: name },
          },
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const body = await readBody(req);
    // The second of files.uploadV2's steps posts the bytes to the URL the first step handed out.
    const upload = /^\/upload\/(F\d+)$/.exec(path);
    if (upload && uploads.has(upload[1] as string)) {
      (uploads.get(upload[1] as string) as FakeSlackUpload).body = body;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${body.length}`);
      return;
    }
    if (!path.startsWith('/api/')) return reply(res, 404, { ok: false, error: 'not_found' });
    const method = path.slice(5).replace(/^\/+/, '');
    stats.requests.set(method, (stats.requests.get(method) ?? 0) + 1);

    const payload = parsePayload(req, body, q === -1 ? '' : url.slice(q + 1));
    if (payload === undefined) return reply(res, 200, { ok: false, error: 'invalid_form_data' });
    const token = bearerToken(req, payload);
    delete payload.token;
    // Socket Mode's connections are opened with the app-level token, not a workspace's bot token.
    if (method === 'apps.connections.open') {
      const known = opts.appToken === undefined ? token?.startsWith('xapp-') : token === opts.appToken;
      if (!known) return reply(res, 200, { ok: false, error: token ? 'invalid_auth' : 'not_authed' });
    } else if (tokens !== undefined) {
      if (token === undefined) return reply(res, 200, { ok: false, error: 'not_authed' });
      if (!Object.hasOwn(tokens, token)) return reply(res, 200, { ok: false, error: 'invalid_auth' });
    }

    const rateLimited = behaviour.rateLimited;
    const failRate = behaviour.failRate ?? 0;
    if ((rateLimited || failRate > 0) && faultMethods.has(method)) {
      const r = random();
      const limitEdge = rateLimited?.rate ?? 0;
      if (rateLimited && r < limitEdge) {
        stats.status429++;
        return reply(
          res,
          429,
          { ok: false, error: 'ratelimited' },
          { 'retry-after': String(rateLimited.retryAfter) },
        );
      }
      if (r < limitEdge + failRate) {
        stats.status500++;
        return reply(res, 500, { ok: false, error: 'fatal_error' });
      }
    }

    const perChannel = behaviour.perChannelPerSecond;
    if (perChannel !== undefined && method === 'chat.postMessage') {
      const channel = dmChannelOf(stringField(payload, 'channel') ?? '');
      const now = Date.now();
      if (now - (lastPostAt.get(channel) ?? Number.NEGATIVE_INFINITY) < 750 / perChannel) {
        stats.status429++;
        return reply(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' });
      }
      lastPostAt.set(channel, now);
    }

    const answer = handleMethod(method, payload, token);
    calls.push({ method, payload, token, at: Date.now(), response: answer as Record<string, unknown> });
    reply(res, 200, answer);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) reply(res, 500, { ok: false, error: 'fatal_error' });
      else res.destroy();
    });
  });
  // Longer than any client's idle keep-alive, so a reused socket is never closed under a request.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const socketMode = socketModeOn(server);

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    stats,
    socketMode: socketMode.api,
    setBehaviour: applyBehaviour,
    setUser(id: string, user: FakeSlackUser = {}): void {
      users.set(id, { ...user });
    },
    calls: (method?: string) => calls.filter((c) => method === undefined || c.method === method),
    uploads: () => [...uploads.values()],
    resetStats(): void {
      stats.requests.clear();
      stats.status429 = 0;
      stats.status500 = 0;
      calls = [];
    },
    stop(): Promise<void> {
      if (stopped) return Promise.resolve();
      stopped = true;
      socketMode.close();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Slack pings every connection; an app that hears nothing for 30 s reconnects. */
const SOCKET_PING_MS = 5_000;

/** Socket Mode on `server`: WebSocket upgrades on `/link/`, the URLs `apps.connections.open` hands out. */
function socketModeOn(server: ReturnType<typeof createServer>): {
  api: FakeSocketMode;
  close(): void;
} {
  const wss = new WebSocketServer({ noServer: true });
  const sockets: WebSocket[] = [];
  const acks = new Map<string, (ack: { envelope_id: string; payload?: unknown }) => void>();
  let opened = 0;

  server.on('upgrade', (req, socket, head) => {
    if (!(req.url ?? '').startsWith('/link/')) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      opened++;
      sockets.push(ws);
      const pinging = setInterval(() => ws.ping(), SOCKET_PING_MS);
      ws.on('close', () => {
        clearInterval(pinging);
        const at = sockets.indexOf(ws);
        if (at !== -1) sockets.splice(at, 1);
      });
      ws.on('message', (data) => {
        const ack = tryJson(String(data)) as { envelope_id?: unknown; payload?: unknown };
        if (typeof ack?.envelope_id !== 'string') return;
        acks.get(ack.envelope_id)?.({ envelope_id: ack.envelope_id, payload: ack.payload });
        acks.delete(ack.envelope_id);
      });
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: sockets.length,
          debug_info: { host: 'fake', approximate_connection_time: 18060 },
          connection_info: { app_id: APP_ID },
        }),
      );
    });
  });

  const api: FakeSocketMode = {
    get open() {
      return sockets.length;
    },
    get opened() {
      return opened;
    },
    deliver(type, payload, opts = {}) {
      const ws = sockets.at(-1);
      if (!ws) return Promise.reject(new Error('no Socket Mode connection is open'));
      const envelopeId = randomUUID();
      const timeoutMs = opts.timeoutMs ?? 3_000;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          acks.delete(envelopeId);
          reject(new Error(`envelope ${type} was not acknowledged within ${timeoutMs} ms`));
        }, timeoutMs);
        acks.set(envelopeId, (ack) => {
          clearTimeout(timer);
          resolve(ack);
        });
        ws.send(
          JSON.stringify({
            envelope_id: envelopeId,
            type,
            payload,
            accepts_response_payload: type === 'slash_commands',
            ...(type === 'events_api'
              ? { retry_attempt: opts.retryAttempt ?? 0, retry_reason: opts.retryAttempt ? 'timeout' : '' }
              : {}),
          }),
        );
      });
    },
    refresh() {
      for (const ws of sockets) {
        ws.send(
          JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'fake' } }),
        );
        ws.close();
      }
    },
  };
  return {
    api,
    close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
    },
  };
}

/** A workspace's OAuth installation with a bot token, as Bolt's installation store keeps it. */
export const slackInstallation = (teamId: string, token: string): Installation<'v2', false> => ({
  team: { id: teamId, name: teamId },
  enterprise: undefined,
  user: { id: 'UINSTALLER', token: undefined, scopes: undefined },
  bot: { token, scopes: ['chat:write'], id: 'BBOT', userId: 'UBOT' },
  tokenType: 'bot',
  isEnterpriseInstall: false,
  appId: 'A1',
  authVersion: 'v2',
});
