import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { autoRetry } from '@grammyjs/auto-retry';
import { run, sequentialize } from '@grammyjs/runner';
import { Bot, HttpError, InputFile, type Transformer, webhookCallback } from 'grammy';
import type { BotCommand } from 'grammy/types';
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import { type Content, render } from '../../src/content/content.ts';
import type { Locale } from '../../src/content/schema.ts';
import { COMMANDS } from '../../src/engine/events.ts';
import type { CoachRuntime } from '../../src/runtime/coach-runtime.ts';
import { listen } from '../../src/runtime/http-listen.ts';
import { scrubCredentials } from '../../src/runtime/logger.ts';
import type { QuestionMessages } from '../../src/runtime/question-messages.ts';
import type { TelegramSender } from './sender.ts';
import { ALLOWED_UPDATES, chatIdOf, translateUpdate } from './updates.ts';

/** The commands in Telegram's menu: all but /start, which the chat's own button sends. */
const MENU = COMMANDS.filter((c) => c !== 'start');

export interface TelegramBotOptions {
  token: string;
  apiRoot?: string;
  runtime: CoachRuntime;
  /** Sends and closes messages (the delivery side, shared with the outbox worker). */
  sender: TelegramSender;
  questions: QuestionMessages;
  log: Logger;
  /** A coach's `/coach …` command: true when it was one and has been handled. */
  desk?: (senderId: string, text: string, eventId: string) => Promise<boolean>;
}

/** Tries after a network error, and the wait before the first (doubling after). */
export interface NetworkRetries {
  retries: number;
  minTimeoutMs: number;
}

/** Two more tries, 1 s and 2 s later: a blip passes, an unreachable Bot API is reported in seconds. */
const NETWORK_RETRIES: NetworkRetries = { retries: 2, minTimeoutMs: 1000 };

/**
 * Retries a Bot API call that failed on the network (no answer at all) a few times, then throws
 * for the caller to report. The auto-retry plugin alone retries those without end and without a
 * word: a Bot API that could not be reached hung start-up silently.
 */
function retryingNetworkErrors({ retries, minTimeoutMs }: NetworkRetries): Transformer {
  return (prev, method, payload, signal) =>
    pRetry(() => prev(method, payload, signal), {
      retries,
      minTimeout: minTimeoutMs,
      // Not after a stop (polling's `signal`, grammY's own kind, which p-retry cannot take).
      shouldRetry: ({ error }) => error instanceof HttpError && !signal?.aborted,
    });
}

/**
 * How the bot's own calls (answers to taps, the menu, exports, polling) retry: a 429 waited out (up
 * to a minute, three times), a 5xx retried with backoff, a network error retried twice
 * (`NETWORK_RETRIES`); then the call fails for the caller to report. The outbox has its own retries
 * and queue-wide pause and does not use this client.
 */
export function useRetries(api: Bot['api'], network: NetworkRetries = NETWORK_RETRIES): void {
  api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60, rethrowHttpErrors: true }));
  api.config.use(retryingNetworkErrors(network));
}

/**
 * The inbound side of Telegram: updates become engine events, one chat at a time and in order.
 * Replies go through the outbox like every other message; this side only answers the button taps
 * themselves (the spinner, and the tapped message shown as answered).
 */
export function createTelegramBot(opts: TelegramBotOptions): Bot {
  const { runtime, sender, questions, log } = opts;
  const bot = new Bot(opts.token, { client: opts.apiRoot ? { apiRoot: opts.apiRoot } : {} });
  useRetries(bot.api);
  bot.use(sequentialize((ctx) => (ctx.chat ? String(ctx.chat.id) : undefined)));

  bot.use(async (ctx) => {
    const translated = translateUpdate(ctx.update);
    if (!translated) {
      if (ctx.callbackQuery) await answerTap(ctx.callbackQuery.id);
      return;
    }
    const { event, tap } = translated;
    if (opts.desk && event.kind !== 'choice' && ctx.message?.text !== undefined) {
      if (await opts.desk(event.patientId, ctx.message.text, event.id)) return;
    }
    if (!tap || event.kind !== 'choice') {
      await runtime.handle(event);
      return;
    }
    // Stop the button's spinner first: Telegram shows it until the query is answered.
    await answerTap(tap.queryId);
    // The tapped message is closed here, with the answer shown, so the outbox need not close it.
    await questions.forget(event.patientId, event.seq, String(tap.messageId));
    const result = await runtime.handle(event);
    if (result.duplicate || result.state?.ask?.seq === event.seq) return; // not accepted: re-asked
    const answered = result.effects.some((e) => e.type === 'send' && e.message.closes === event.seq);
    // An answered question shows the answer given; a stale one just loses its buttons.
    const text =
      answered && tap.messageText && tap.label ? `${tap.messageText}\n\n✓ ${tap.label}` : undefined;
    const chatId = chatIdOf(event.patientId) as string;
    const closed = await sender.closeMessage(chatId, tap.messageId, text);
    if (!closed.ok)
      log.warn({ patientId: event.patientId, updateId: ctx.update.update_id }, 'tap not closed');
  });

  bot.catch((error) => {
    log.error({ err: error.error, updateId: error.ctx.update.update_id }, 'telegram update failed');
  });

  async function answerTap(queryId: string): Promise<void> {
    try {
      await bot.api.answerCallbackQuery(queryId);
    } catch (error) {
      // Cosmetic (a spinner) and often just too late: worth a log line, never the update.
      log.warn({ err: error, queryId }, 'answerCallbackQuery failed');
    }
  }

  return bot;
}

/** The command menu in every locale, and in the default locale for the rest; failures are logged. */
export async function publishCommandMenu(bot: Bot, content: Content, defaultLocale: Locale, log: Logger) {
  const menuOf = (locale: Locale): BotCommand[] =>
    MENU.map((command) => ({ command, description: render(content, locale, `menu.${command}`) }));
  const calls: { commands: BotCommand[]; language_code?: Locale }[] = [
    { commands: menuOf(defaultLocale) },
    ...(Object.keys(content.messages) as Locale[]).map((locale) => ({
      commands: menuOf(locale),
      language_code: locale,
    })),
  ];
  for (const { commands, language_code } of calls) {
    try {
      await bot.api.setMyCommands(commands, language_code ? { language_code } : {});
    } catch (error) {
      log.warn({ err: error, language_code }, 'setMyCommands failed; the menu stays as it was');
    }
  }
}

/** Files (an export) as documents in a chat, one after the other. */
export async function sendFiles(
  bot: Bot,
  recipient: string,
  files: readonly { filename: string; content: string }[],
): Promise<void> {
  const chatId = chatIdOf(recipient);
  if (chatId === undefined) throw new Error(`not a Telegram chat: ${recipient}`);
  for (const f of files)
    await bot.api.sendDocument(chatId, new InputFile(Buffer.from(f.content), f.filename));
}

export interface Receiving {
  stop(): Promise<void>;
  /** The webhook server's port (webhook mode only). */
  port?: number;
  /** 'ok', or why updates no longer come in (long polling only; for /healthz). */
  health?(): string;
}

/** Long polling with the runner: many chats at once, each chat's updates in order. */
export async function startPolling(bot: Bot, log: Logger): Promise<Receiving> {
  await bot.api.deleteWebhook();
  await bot.init();
  // The runner tries a failed getUpdates again itself, and would print the client's error as it
  // is, which quotes the request URL with the token in it: it stays quiet and the log says it.
  bot.api.config.use(async (prev, method, payload, signal) => {
    try {
      return await prev(method, payload, signal);
    } catch (error) {
      if (method === 'getUpdates' && !signal?.aborted)
        log.warn({ err: error }, 'telegram: fetching updates failed; trying again');
      throw error;
    }
  });
  // Between failed fetches the runner waits 0.1 s longer each time (its default doubles the wait, so
  // after half an hour without the Bot API it would come back up to half an hour late).
  const handle = run(bot, {
    runner: { fetch: { allowed_updates: ALLOWED_UPDATES }, silent: true, retryInterval: 'quadratic' },
  });
  // The runner gives up on what no retry mends (a revoked token, another process polling) and
  // after 15 hours without the Bot API. Its task's failure would otherwise go unhandled and kill
  // the process, the client's error (URL and token) printed; it is logged, and /healthz says it.
  let stoppedBy: string | undefined;
  handle.task()?.catch((error: unknown) => {
    stoppedBy = scrubCredentials(error instanceof Error ? error.message : String(error));
    log.fatal({ err: error }, 'telegram: long polling stopped; no updates come in until a restart');
  });
  log.info({ bot: bot.botInfo.username }, 'telegram: long polling');
  return {
    stop: async () => {
      if (handle.isRunning()) await handle.stop();
    },
    health: () => (stoppedBy === undefined ? 'ok' : `long polling stopped: ${stoppedBy}`),
  };
}

/** Telegram's secret token: 1–256 of A–Z, a–z, 0–9, _ and -. Derived from the bot token when not set. */
export function webhookSecretOf(token: string, configured: string | undefined): string {
  return configured ?? createHash('sha256').update(`backcoach-webhook:${token}`).digest('hex');
}

export interface WebhookOptions {
  /** The public HTTPS URL Telegram posts to; its path is the one served. */
  url: string;
  secret: string;
  port: number;
  host?: string;
}

/**
 * Webhook mode: an HTTP server that takes Telegram's POSTs on the URL's path, refuses any without
 * the secret token (401), and answers 500 when handling fails so Telegram delivers the update again.
 */
export async function startWebhook(bot: Bot, opts: WebhookOptions, log: Logger): Promise<Receiving> {
  await bot.init();
  const path = new URL(opts.url).pathname;
  const handle = webhookCallback(bot, 'http', { secretToken: opts.secret, timeoutMilliseconds: 60_000 });
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '';
    if (req.method !== 'POST' || url.split('?')[0] !== path) {
      res.writeHead(404).end();
      return;
    }
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'telegram webhook request failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    });
  });
  const listening = await listen(server, opts.port, opts.host ?? '0.0.0.0');
  // Telegram refusing the webhook stops start-up; the port is not left bound behind it.
  await bot.api
    .setWebhook(opts.url, { secret_token: opts.secret, allowed_updates: ALLOWED_UPDATES })
    .catch(async (error: unknown) => {
      await listening.stop();
      throw error;
    });
  log.info({ bot: bot.botInfo.username, port: listening.port, path }, 'telegram: webhook');
  return listening;
}
