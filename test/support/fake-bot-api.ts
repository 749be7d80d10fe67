import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Update, UserFromGetMe } from 'grammy/types';

/**
 * A fake Telegram Bot API server on loopback, for tests and benchmarks: point grammY's `apiRoot` at
 * `apiRoot` and it answers the methods Backcoach uses with plausible results, with optional rate
 * limits, blocked users and random faults. Built to be cheap per request (no URL objects, ring
 * buffers for the rate windows, pre-serialised constant answers) so it is not the bottleneck of a
 * delivery benchmark.
 */

export interface RateLimitBehaviour {
  /** Messages per sliding second across all chats (Telegram: about 30). */
  perSecond: number;
  /** Messages per sliding second to one chat (Telegram: about 1). */
  perChatPerSecond: number;
  /** Seconds put in the 429 answer's `retry_after`. */
  retryAfter: number;
}

export interface FailBehaviour {
  /** Fraction of calls answered 429 with `retry_after`. */
  status429Rate?: number;
  /** Fraction of calls answered 500. */
  status500Rate?: number;
  /** Fraction of calls never answered (until the client gives up or the server stops). */
  timeoutRate?: number;
  /** Fraction of calls whose connection is dropped at once, unanswered (a network failure). */
  dropRate?: number;
  /** Seconds put in a random 429's `retry_after` (default 1). */
  retryAfter?: number;
  /**
   * Methods the faults apply to. Default: the messaging methods (sendMessage, sendPhoto,
   * editMessageText, editMessageReplyMarkup, answerCallbackQuery), so polling and start-up still work.
   */
  methods?: readonly string[];
}

export interface FakeBotApiBehaviour {
  /** Applies to sendMessage and sendPhoto. */
  rateLimit?: RateLimitBehaviour;
  fail?: FailBehaviour;
  /** Chat ids (as strings) that blocked the bot: sending or editing there answers 403. */
  blockedChats?: Set<string>;
  /** The bot's token was revoked: every call answers 401. */
  revoked?: boolean;
  /** Keep every sent or edited message for `messages()` (default true; benchmarks turn it off). */
  recordMessages?: boolean;
}

export interface FakeBotApiOptions extends FakeBotApiBehaviour {
  /** When set, requests with another token answer 401 Unauthorized. */
  token?: string;
  /** Random source for faults (default Math.random), for reproducible runs. */
  random?: () => number;
  /**
   * Told of every sendMessage answered ok, as it is answered: a benchmark times each reply this
   * way instead of polling the counters.
   */
  onDelivered?: (chatId: string) => void;
  /** Told of every message answered 429 by `rateLimit`, as it is answered: to read why it was. */
  onRateLimited?: (refusal: RateLimited) => void;
}

/** A message `rateLimit` refused. */
export interface RateLimited {
  chatId: string;
  /** Date.now() when it arrived. */
  at: number;
  /** Refused for the chat's own limit (the overall one had room). */
  perChat: boolean;
}

export interface SentMessage {
  method: 'sendMessage' | 'sendPhoto' | 'editMessageText' | 'editMessageReplyMarkup';
  chatId: string;
  messageId: number;
  /** The text, or the photo's caption. */
  text?: string;
  replyMarkup?: unknown;
  /** Date.now() when the server accepted it. */
  at: number;
}

/** A call to a method other than getUpdates and getMe, with what it was given. */
export interface RecordedCall {
  method: string;
  payload: Record<string, unknown>;
  /** sendDocument: the uploaded file. */
  document?: { filename: string; text: string };
  at: number;
}

export interface FakeBotApiStats {
  /** Requests per method name (every request, whatever its answer). */
  requests: Map<string, number>;
  /** sendMessage calls answered ok. */
  delivered: number;
  /** Chat id → sendMessage calls answered ok, to spot duplicates. */
  deliveredPerChat: Map<string, number>;
  /** sendPhoto calls answered ok (the file is counted, never parsed). */
  photos: number;
  status429: number;
  /** Of `status429`, those for the chat's own limit (the overall one had room). */
  status429PerChat: number;
  status500: number;
  status403: number;
  /** Requests deliberately left unanswered. */
  timeouts: number;
  /** Connections dropped unanswered (`dropRate`). */
  dropped: number;
  /**
   * Messages that arrived while a retry_after this server gave was still running (allowing 100 ms
   * for requests already on their way when the 429 went out): a client honouring retry_after has 0.
   */
  sentDuringRetryAfter: number;
  /** TCP connections accepted (stays small when clients keep connections alive). */
  connections: number;
  /** Date.now() of the first and last delivered sendMessage (achieved rate = delivered / span). */
  firstDeliveryAt: number | undefined;
  lastDeliveryAt: number | undefined;
}

/** An update to hand out by getUpdates; `update_id` is assigned when missing. */
export type PushedUpdate = Omit<Update, 'update_id'> & { update_id?: number };

export interface FakeBotApi {
  /** `http://127.0.0.1:PORT`, for grammY's `apiRoot` option. */
  readonly apiRoot: string;
  /** Live counters (the same object throughout; see `resetStats`). */
  readonly stats: FakeBotApiStats;
  /** Merges into the current behaviour; a key given as undefined switches that behaviour off. */
  setBehaviour(behaviour: FakeBotApiBehaviour): void;
  /** Queues an update for getUpdates and wakes a waiting long poll; returns its update_id. */
  pushUpdate(update: PushedUpdate): number;
  /** Everything sent or edited so far (empty when `recordMessages` is false). */
  messages(): SentMessage[];
  /** Every call but getUpdates and getMe, or those of one method (empty when `recordMessages` is false). */
  calls(method?: string): RecordedCall[];
  /** Zeroes the counters and forgets recorded messages (e.g. after a benchmark's warm-up). */
  resetStats(): void;
  /** Closes the server and every connection, keep-alive and hung ones included. */
  stop(): Promise<void>;
}

/**
 * Achieved sendMessage rate in messages per second between the first and the last delivery, or
 * undefined with fewer than two. A sliding-window limit lets a burst through at each window edge, so
 * read it over runs of several seconds.
 */
export function achievedRate(
  stats: Pick<FakeBotApiStats, 'delivered' | 'firstDeliveryAt' | 'lastDeliveryAt'>,
): number | undefined {
  if (stats.delivered < 2 || stats.firstDeliveryAt === undefined || stats.lastDeliveryAt === undefined) {
    return undefined;
  }
  const span = stats.lastDeliveryAt - stats.firstDeliveryAt;
  return span > 0 ? ((stats.delivered - 1) * 1000) / span : undefined;
}

const DEFAULT_FAULT_METHODS = [
  'sendMessage',
  'sendPhoto',
  'editMessageText',
  'editMessageReplyMarkup',
  'answerCallbackQuery',
];
const MAX_LONG_POLL_MS = 1000;
const MULTIPART_SCAN_LIMIT = 16 * 1024;

/** Events in the last second, in a fixed ring: no allocation per check. */
class SlidingWindow {
  private readonly times: Float64Array;
  private readonly capacity: number;
  private head = 0;
  private size = 0;

  constructor(perSecond: number) {
    this.capacity = Math.max(1, Math.floor(perSecond));
    this.times = new Float64Array(this.capacity);
  }

  hasRoom(now: number): boolean {
    return this.size < this.capacity || now - (this.times[this.head] as number) >= 1000;
  }

  /** Call only after hasRoom(now). */
  take(now: number): void {
    if (this.size < this.capacity) {
      this.times[(this.head + this.size) % this.capacity] = now;
      this.size++;
    } else {
      this.times[this.head] = now;
      this.head = (this.head + 1) % this.capacity;
    }
  }
}

const JSON_TYPE = 'application/json';
const TRUE_BODY = Buffer.from('{"ok":true,"result":true}');
const EMPTY_UPDATES_BODY = Buffer.from('{"ok":true,"result":[]}');
const STATUS_500_BODY = Buffer.from('{"ok":false,"error_code":500,"description":"Internal Server Error"}');
const BLOCKED_BODY = Buffer.from(
  '{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}',
);
const UNAUTHORIZED_BODY = Buffer.from('{"ok":false,"error_code":401,"description":"Unauthorized"}');
const NOT_FOUND_BODY = Buffer.from('{"ok":false,"error_code":404,"description":"Not Found"}');
const BAD_BODY = Buffer.from(
  '{"ok":false,"error_code":400,"description":"Bad Request: can\'t parse request body"}',
);
const NO_CHAT_BODY = Buffer.from('{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}');
const NO_TEXT_BODY = Buffer.from(
  '{"ok":false,"error_code":400,"description":"Bad Request: message text is empty"}',
);
const tooManyCache = new Map<number, Buffer>();
function tooManyBody(retryAfter: number): Buffer {
  let body = tooManyCache.get(retryAfter);
  if (body === undefined) {
    body = Buffer.from(
      JSON.stringify({
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${retryAfter}`,
        parameters: { retry_after: retryAfter },
      }),
    );
    tooManyCache.set(retryAfter, body);
  }
  return body;
}

function reply(res: ServerResponse, status: number, body: Buffer | string): void {
  res.writeHead(status, {
    'content-type': JSON_TYPE,
    'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
  });
  res.end(body);
}

type Payload = Record<string, unknown>;

function readBody(req: IncomingMessage, keepLimit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let kept = 0;
    req.on('data', (chunk: Buffer) => {
      if (kept >= keepLimit) return;
      kept += chunk.length;
      if (first === undefined) first = chunk;
      else if (more === undefined) more = [first, chunk];
      else more.push(chunk);
    });
    req.on('end', () => resolve(more ? Buffer.concat(more) : (first ?? Buffer.alloc(0))));
    req.on('error', reject);
  });
}

function parseForm(text: string): Payload {
  const payload: Payload = {};
  for (const [key, value] of new URLSearchParams(text)) {
    payload[key] = value.startsWith('{') || value.startsWith('[') ? tryJson(value) : value;
  }
  return payload;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const MULTIPART_FIELD =
  /name="(chat_id|caption|message_id|reply_markup)"[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)\r\n--/gi;

/** Reads the small text fields of a multipart body; the file parts are never looked at. */
function scanMultipart(text: string): Payload {
  const payload: Payload = {};
  MULTIPART_FIELD.lastIndex = 0;
  for (let m = MULTIPART_FIELD.exec(text); m !== null; m = MULTIPART_FIELD.exec(text)) {
    const name = (m[1] as string).toLowerCase();
    // Latin-1 keeps the byte scan cheap; the text fields are UTF-8.
    const value = Buffer.from(m[2] as string, 'latin1').toString('utf8');
    payload[name] = name === 'reply_markup' ? tryJson(value) : value;
  }
  return payload;
}

function parsePayload(req: IncomingMessage, body: Buffer, query: string): Payload | undefined {
  const type = req.headers['content-type'] ?? '';
  try {
    if (body.length === 0) return query ? parseForm(query) : {};
    if (type.startsWith('application/json')) {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      return parsed !== null && typeof parsed === 'object' ? (parsed as Payload) : undefined;
    }
    if (type.startsWith('multipart/form-data')) return scanMultipart(body.toString('latin1'));
    if (type.startsWith('application/x-www-form-urlencoded')) return parseForm(body.toString('utf8'));
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * A sendDocument upload, parsed whole (they are small and rare, unlike the benchmarks' photos).
 * Written out because grammY's parts (`name="x";filename=y.json`, no spaces or quotes) are valid
 * multipart that Node's own form parser does not read.
 */
function readDocument(
  req: IncomingMessage,
  body: Buffer,
): { fields: Payload; file?: { filename: string; text: string } } | undefined {
  const boundary = /boundary=("?)([^";]+)\1/.exec(req.headers['content-type'] ?? '')?.[2];
  if (!boundary) return undefined;
  const fields: Payload = {};
  let file: { filename: string; text: string } | undefined;
  for (const part of body.toString('utf8').split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split === -1) continue;
    const head = part.slice(0, split);
    const value = part.slice(split + 4).replace(/\r\n$/, '');
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    const filename = /filename="?([^";\r\n]+)"?/i.exec(head)?.[1];
    if (filename) file = { filename, text: value };
    else if (name) fields[name] = value;
  }
  return { fields, ...(file ? { file } : {}) };
}

function chatIdOf(payload: Payload): string | undefined {
  const id = payload.chat_id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  if (typeof id === 'string' && id.length > 0) return id;
  return undefined;
}

function chatObject(chatId: string): Record<string, unknown> {
  return /^-?\d+$/.test(chatId)
    ? chatId.startsWith('-')
      ? { id: Number(chatId), type: 'group', title: 'Group' }
      : { id: Number(chatId), type: 'private', first_name: 'Patient' }
    : { id: -100, type: 'channel', title: chatId, username: chatId.replace(/^@/, '') };
}

interface Waiter {
  res: ServerResponse;
  offset: number;
  limit: number;
  timer: NodeJS.Timeout;
}

/** The bot `getMe` describes, for a client that is given its bot info instead of asking. */
export function fakeBotUser(id: number): UserFromGetMe {
  return {
    id,
    is_bot: true,
    first_name: 'Backcoach',
    username: 'backcoach_test_bot',
    can_join_groups: false,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    has_topics_enabled: false,
    allows_users_to_create_topics: false,
    can_manage_bots: false,
    supports_join_request_queries: false,
  };
}

export async function startFakeBotApi(opts: FakeBotApiOptions = {}): Promise<FakeBotApi> {
  const random = opts.random ?? Math.random;
  const requiredToken = opts.token;
  const botId = Number(requiredToken?.split(':')[0]) || 1234567;
  const botUser = fakeBotUser(botId);
  const getMeBody = Buffer.from(JSON.stringify({ ok: true, result: botUser }));
  const from = { id: botId, is_bot: true, first_name: 'Backcoach', username: 'backcoach_test_bot' };

  let behaviour: FakeBotApiBehaviour = {};
  let recordMessages = true;
  let globalWindow: SlidingWindow | undefined;
  let chatWindows = new Map<string, SlidingWindow>();
  let faultMethods = new Set(DEFAULT_FAULT_METHODS);

  function applyBehaviour(patch: FakeBotApiBehaviour): void {
    behaviour = { ...behaviour, ...patch };
    recordMessages = behaviour.recordMessages ?? true;
    if ('rateLimit' in patch) {
      globalWindow = behaviour.rateLimit ? new SlidingWindow(behaviour.rateLimit.perSecond) : undefined;
      chatWindows = new Map();
    }
    if ('fail' in patch) faultMethods = new Set(behaviour.fail?.methods ?? DEFAULT_FAULT_METHODS);
  }
  applyBehaviour({
    rateLimit: opts.rateLimit,
    fail: opts.fail,
    blockedChats: opts.blockedChats,
    recordMessages: opts.recordMessages,
  });

  const stats: FakeBotApiStats = {
    requests: new Map(),
    delivered: 0,
    deliveredPerChat: new Map(),
    photos: 0,
    status429: 0,
    status429PerChat: 0,
    sentDuringRetryAfter: 0,
    status500: 0,
    status403: 0,
    timeouts: 0,
    dropped: 0,
    connections: 0,
    firstDeliveryAt: undefined,
    lastDeliveryAt: undefined,
  };
  let sent: SentMessage[] = [];
  let calls: RecordedCall[] = [];
  const nextMessageId = new Map<string, number>();

  // getUpdates: a queue with a moving start, and long polls waiting for the next push.
  const updates: Update[] = [];
  let updatesStart = 0;
  let nextUpdateId = 1;
  const waiters = new Set<Waiter>();
  const hung = new Set<ServerResponse>();
  let stopped = false;

  function confirmUpTo(offset: number): void {
    while (updatesStart < updates.length && (updates[updatesStart] as Update).update_id < offset) {
      updatesStart++;
    }
    if (updatesStart > 1024 && updatesStart * 2 > updates.length) {
      updates.splice(0, updatesStart);
      updatesStart = 0;
    }
  }

  function pending(limit: number): Update[] {
    return updates.slice(updatesStart, updatesStart + limit);
  }

  function answerWaiter(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    waiters.delete(waiter);
    const batch = pending(waiter.limit);
    reply(
      waiter.res,
      200,
      batch.length === 0 ? EMPTY_UPDATES_BODY : JSON.stringify({ ok: true, result: batch }),
    );
  }

  function getUpdates(res: ServerResponse, payload: Payload): void {
    const offset = Number(payload.offset ?? 0) || 0;
    const limit = Math.min(100, Math.max(1, Number(payload.limit ?? 100) || 100));
    const timeoutMs = Math.min(MAX_LONG_POLL_MS, Math.max(0, (Number(payload.timeout ?? 0) || 0) * 1000));
    confirmUpTo(offset);
    if (updatesStart < updates.length || timeoutMs === 0) {
      const batch = pending(limit);
      reply(res, 200, batch.length === 0 ? EMPTY_UPDATES_BODY : JSON.stringify({ ok: true, result: batch }));
      return;
    }
    const waiter: Waiter = { res, offset, limit, timer: setTimeout(() => answerWaiter(waiter), timeoutMs) };
    waiters.add(waiter);
    res.once('close', () => {
      clearTimeout(waiter.timer);
      waiters.delete(waiter);
    });
  }

  function record(message: SentMessage): void {
    if (recordMessages) sent.push(message);
  }

  function nextId(chatId: string): number {
    const id = (nextMessageId.get(chatId) ?? 0) + 1;
    nextMessageId.set(chatId, id);
    return id;
  }

  let last429At = 0;
  let retryNotBefore = 0;
  function noteRetryAfter(now: number, seconds: number): void {
    last429At = now;
    retryNotBefore = Math.max(retryNotBefore, now + seconds * 1000);
  }
  function checkRetryAfter(now: number): void {
    if (now < retryNotBefore && now - last429At > 100) stats.sentDuringRetryAfter++;
  }

  /** 403 or 429 for a message to `chatId`, or undefined when it may go out (and is counted). */
  function gate(chatId: string, rateLimited: boolean, now: number): Buffer | undefined {
    if (behaviour.blockedChats?.has(chatId)) {
      stats.status403++;
      return BLOCKED_BODY;
    }
    const limit = behaviour.rateLimit;
    if (rateLimited && limit && globalWindow) {
      let chatWindow = chatWindows.get(chatId);
      if (chatWindow === undefined) {
        chatWindow = new SlidingWindow(limit.perChatPerSecond);
        chatWindows.set(chatId, chatWindow);
      }
      const overall = globalWindow.hasRoom(now);
      if (!overall || !chatWindow.hasRoom(now)) {
        stats.status429++;
        if (overall) stats.status429PerChat++;
        noteRetryAfter(now, limit.retryAfter);
        opts.onRateLimited?.({ chatId, at: now, perChat: overall });
        return tooManyBody(limit.retryAfter);
      }
      globalWindow.take(now);
      chatWindow.take(now);
    }
    return undefined;
  }

  function handleMethod(method: string, payload: Payload, res: ServerResponse): void {
    switch (method) {
      case 'getMe':
        return reply(res, 200, getMeBody);
      case 'getUpdates':
        return getUpdates(res, payload);
      case 'sendDocument': {
        const chatId = chatIdOf(payload);
        if (chatId === undefined) return reply(res, 400, NO_CHAT_BODY);
        const refused = gate(chatId, true, Date.now());
        if (refused) return reply(res, refused === BLOCKED_BODY ? 403 : 429, refused);
        const messageId = nextId(chatId);
        return reply(
          res,
          200,
          JSON.stringify({
            ok: true,
            result: { message_id: messageId, from, chat: chatObject(chatId), date: 0, document: {} },
          }),
        );
      }
      case 'answerCallbackQuery':
      case 'setMyCommands':
      case 'deleteWebhook':
      case 'setWebhook':
        return reply(res, 200, TRUE_BODY);
      case 'sendMessage':
      case 'sendPhoto': {
        const chatId = chatIdOf(payload);
        if (chatId === undefined) return reply(res, 400, NO_CHAT_BODY);
        const isPhoto = method === 'sendPhoto';
        const text = isPhoto ? payload.caption : payload.text;
        if (!isPhoto && (typeof text !== 'string' || text.length === 0)) return reply(res, 400, NO_TEXT_BODY);
        const now = Date.now();
        const refused = gate(chatId, true, now);
        if (refused) return reply(res, refused === BLOCKED_BODY ? 403 : 429, refused);
        const messageId = nextId(chatId);
        if (isPhoto) {
          stats.photos++;
        } else {
          stats.delivered++;
          stats.deliveredPerChat.set(chatId, (stats.deliveredPerChat.get(chatId) ?? 0) + 1);
          stats.firstDeliveryAt ??= now;
          stats.lastDeliveryAt = now;
          opts.onDelivered?.(chatId);
        }
        const replyMarkup = payload.reply_markup;
        record({
          method,
          chatId,
          messageId,
          ...(typeof text === 'string' ? { text } : {}),
          ...(replyMarkup !== undefined ? { replyMarkup } : {}),
          at: now,
        });
        const message: Record<string, unknown> = {
          message_id: messageId,
          from,
          chat: chatObject(chatId),
          date: Math.floor(now / 1000),
        };
        if (isPhoto) {
          message.photo = [
            {
              file_id: `photo-${chatId}-${messageId}`,
              file_unique_id: `p${messageId}`,
              width: 640,
              height: 480,
            },
          ];
          if (typeof text === 'string') message.caption = text;
        } else {
          message.text = text;
        }
        if (replyMarkup !== undefined) message.reply_markup = replyMarkup;
        return reply(res, 200, JSON.stringify({ ok: true, result: message }));
      }
      case 'editMessageText':
      case 'editMessageReplyMarkup': {
        if (payload.inline_message_id !== undefined) return reply(res, 200, TRUE_BODY);
        const chatId = chatIdOf(payload);
        const messageId = Number(payload.message_id);
        if (chatId === undefined || !Number.isInteger(messageId)) return reply(res, 400, NO_CHAT_BODY);
        const now = Date.now();
        const refused = gate(chatId, false, now);
        if (refused) return reply(res, 403, refused);
        const text = method === 'editMessageText' ? payload.text : undefined;
        if (method === 'editMessageText' && (typeof text !== 'string' || text.length === 0)) {
          return reply(res, 400, NO_TEXT_BODY);
        }
        const replyMarkup = payload.reply_markup;
        record({
          method,
          chatId,
          messageId,
          ...(typeof text === 'string' ? { text } : {}),
          ...(replyMarkup !== undefined ? { replyMarkup } : {}),
          at: now,
        });
        const message: Record<string, unknown> = {
          message_id: messageId,
          from,
          chat: chatObject(chatId),
          date: Math.floor(now / 1000),
          edit_date: Math.floor(now / 1000),
          text: typeof text === 'string' ? text : '',
        };
        if (replyMarkup !== undefined) message.reply_markup = replyMarkup;
        return reply(res, 200, JSON.stringify({ ok: true, result: message }));
      }
      default:
        return reply(res, 404, NOT_FOUND_BODY);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // URL: /bot<token>/<method>[?query]
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const slash = path.lastIndexOf('/');
    const isMultipart = (req.headers['content-type'] ?? '').startsWith('multipart/form-data');
    const isDocument = path.endsWith('/sendDocument');
    const body = await readBody(
      req,
      isMultipart && !isDocument ? MULTIPART_SCAN_LIMIT : Number.POSITIVE_INFINITY,
    );
    if (!path.startsWith('/bot') || slash <= 4) return reply(res, 404, NOT_FOUND_BODY);
    const token = path.slice(4, slash);
    const method = path.slice(slash + 1);
    stats.requests.set(method, (stats.requests.get(method) ?? 0) + 1);
    if (behaviour.revoked || (requiredToken !== undefined && token !== requiredToken))
      return reply(res, 401, UNAUTHORIZED_BODY);
    if (method === 'sendMessage' || method === 'sendPhoto') checkRetryAfter(Date.now());

    const fail = behaviour.fail;
    if (fail && faultMethods.has(method)) {
      const r = random();
      let edge = fail.timeoutRate ?? 0;
      if (r < edge) {
        stats.timeouts++;
        hung.add(res);
        res.once('close', () => hung.delete(res));
        return;
      }
      edge += fail.dropRate ?? 0;
      if (r < edge) {
        stats.dropped++;
        req.socket.destroy();
        return;
      }
      edge += fail.status500Rate ?? 0;
      if (r < edge) {
        stats.status500++;
        return reply(res, 500, STATUS_500_BODY);
      }
      edge += fail.status429Rate ?? 0;
      if (r < edge) {
        stats.status429++;
        noteRetryAfter(Date.now(), fail.retryAfter ?? 1);
        return reply(res, 429, tooManyBody(fail.retryAfter ?? 1));
      }
    }

    const document = isDocument && isMultipart ? readDocument(req, body) : undefined;
    const payload = document ? document.fields : parsePayload(req, body, q === -1 ? '' : url.slice(q + 1));
    if (payload === undefined) return reply(res, 400, BAD_BODY);
    if (recordMessages && method !== 'getUpdates' && method !== 'getMe') {
      calls.push({
        method,
        payload,
        ...(document?.file ? { document: document.file } : {}),
        at: Date.now(),
      });
    }
    handleMethod(method, payload, res);
  }

  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) reply(res, 500, STATUS_500_BODY);
      else res.destroy();
    });
  });
  server.on('connection', () => {
    stats.connections++;
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

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    stats,
    setBehaviour: applyBehaviour,
    pushUpdate(update: PushedUpdate): number {
      const id = update.update_id ?? nextUpdateId;
      nextUpdateId = Math.max(nextUpdateId, id + 1);
      updates.push({ ...update, update_id: id } as Update);
      for (const waiter of waiters) {
        if (id >= waiter.offset) answerWaiter(waiter);
      }
      return id;
    },
    messages: () => sent.slice(),
    calls: (method?: string) => calls.filter((c) => method === undefined || c.method === method),
    resetStats(): void {
      stats.requests.clear();
      stats.deliveredPerChat.clear();
      stats.delivered = 0;
      stats.photos = 0;
      stats.status429 = 0;
      stats.sentDuringRetryAfter = 0;
      stats.status500 = 0;
      stats.status403 = 0;
      stats.timeouts = 0;
      stats.connections = 0;
      stats.firstDeliveryAt = undefined;
      stats.lastDeliveryAt = undefined;
      sent = [];
      calls = [];
    },
    stop(): Promise<void> {
      if (stopped) return Promise.resolve();
      stopped = true;
      for (const waiter of waiters) clearTimeout(waiter.timer);
      waiters.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const res of hung) res.destroy();
        hung.clear();
      });
    },
  };
}
