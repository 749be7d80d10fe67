import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { SimulatedClock, TerminalChat } from '../adapters/terminal/chat.ts';
import type { Content } from './content/content.ts';
import type { Locale } from './content/schema.ts';
import { pushesOf } from './engine/state.ts';
import { CoachRuntime } from './runtime/coach-runtime.ts';
import { type Config, ConfigError, loadConfig } from './runtime/config.ts';
import { ContentError, loadContent } from './runtime/content-loader.ts';
import { createLogger, scrubCredentials } from './runtime/logger.ts';
import { hasRedisServer, REDIS_SERVER_MISSING, startPrivateRedis } from './runtime/redis-server.ts';
import { type Service, startService } from './runtime/service.ts';
import { PatientStore } from './runtime/store.ts';
import { isValidZone } from './time/local.ts';

/** Start-up problems the operator can fix: one line on stderr, exit code 2. */
function fail(message: string): never {
  process.stderr.write(`backcoach: ${message}\n`);
  process.exit(2);
}

function cliOptions() {
  try {
    return parseArgs({
      options: {
        clock: { type: 'string' },
        user: { type: 'string' },
        tz: { type: 'string' },
      },
    }).values;
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
}

async function main(): Promise<void> {
  // Settings may live in .env (see .env.example); real environment variables win.
  if (existsSync('.env')) process.loadEnvFile('.env');
  const options = cliOptions();
  let config: ReturnType<typeof loadConfig>;
  let content: ReturnType<typeof loadContent>;
  try {
    config = loadConfig(process.env);
    content = loadContent(config.contentDir);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof ContentError) fail(error.message);
    throw error;
  }
  const start = options.clock === undefined ? undefined : Date.parse(options.clock);
  if (start !== undefined && Number.isNaN(start))
    fail(`--clock: expected an ISO date-time like 2026-03-01T07:00, got ${options.clock}`);
  const timezone = options.tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
  if (!isValidZone(timezone)) fail(`--tz: ${timezone} is not an IANA timezone such as Europe/Berlin`);

  let redisUrl = config.redisUrl;
  let stopPrivate: (() => Promise<void>) | undefined;
  if (redisUrl === undefined) {
    if (!hasRedisServer()) fail(REDIS_SERVER_MISSING);
    const server = await startPrivateRedis({ appendOnly: true, dir: '.data/redis' });
    redisUrl = server.url;
    stopPrivate = () => server.stop();
  }
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  try {
    await redis.connect();
  } catch (error) {
    fail(`cannot reach Redis at REDIS_URL: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (config.telegramBotToken || config.slackBotToken || config.slackOAuth) {
    await redis.quit();
    return runService(config, content, redisUrl, stopPrivate);
  }
  // In the terminal the chat owns the screen, so logs go to a file.
  const log = createLogger(config.logLevel, pino.destination({ dest: '.data/backcoach.log', mkdir: true }));
  const store = new PatientStore(redis);
  const clock = new SimulatedClock(start);
  const patientId = `terminal:${(options.user ?? userInfo().username).replace(/[^\w.-]/g, '_')}`;
  const locale: Locale = process.env.LANG?.startsWith('de') ? 'de' : config.defaultLocale;
  const chat = new TerminalChat({
    input: process.stdin,
    output: process.stdout,
    patientId,
    locale,
    timezone,
    clock,
    exportDir: 'exports',
  });
  const runtime = new CoachRuntime(store, content, chat.ports, clock.now, log);
  chat.attach(runtime);
  const existing = await store.load(patientId);
  const pushes = pushesOf(existing);
  if (pushes) chat.timers.set(patientId, pushes);
  if (existing === null) await chat.send('/start');

  await chat.run();
  await redis.quit();
  await stopPrivate?.();
}

/** The platform service until SIGTERM or SIGINT: then stop taking work, finish in-flight jobs, exit. */
async function runService(
  config: Config,
  content: Content,
  redisUrl: string,
  stopPrivate: (() => Promise<void>) | undefined,
): Promise<void> {
  const log = createLogger(config.logLevel);
  let service: Service;
  try {
    service = await startService({ config, content, redisUrl, log });
  } catch (error) {
    // The log has the whole error; the operator's terminal gets one line (a platform unreachable,
    // a port taken). Exiting stops what start-up had opened, the private redis-server included.
    log.fatal({ err: error }, 'start-up failed');
    log.flush();
    fail(`could not start: ${scrubCredentials(error instanceof Error ? error.message : String(error))}`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await service.stop();
  await stopPrivate?.();
}

await main();
