import { type Logger, pino } from 'pino';
import { loadConfig } from '../../src/runtime/config.ts';
import { type Service, startService } from '../../src/runtime/service.ts';
import { PatientStore } from '../../src/runtime/store.ts';
import { realContent } from './content.ts';
import type { RedisFixture } from './redis.ts';

/**
 * The whole service on the test's Redis, under a fresh prefix, with a fast scheduler tick and
 * delivery far above any platform limit unless `env` says otherwise. A test's patient answers at
 * once, far sooner than anyone reads a question, so a Telegram chat's gap between two deliveries
 * (test/jobs/delivery.test.ts) would hold each of its replies a second: it is off unless `env` sets it.
 */
export async function startTestService(
  redisFixture: RedisFixture,
  env: Record<string, string>,
  clock?: () => number,
  /** When the test must write under the prefix before the service starts. */
  prefix = redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, ''),
  log: Logger = pino({ level: 'silent' }),
): Promise<{ service: Service; store: PatientStore; prefix: string }> {
  const service = await startService({
    config: loadConfig({
      TELEGRAM_RATE_PER_SECOND: '1000',
      TELEGRAM_CHAT_GAP_MS: '0',
      SLACK_RATE_PER_CHANNEL: '100',
      REDIS_PREFIX: prefix,
      ...env,
    }),
    content: realContent(),
    redisUrl: redisFixture.url,
    log,
    ...(clock ? { clock } : {}),
    tickMs: 20,
    // On the test's clock, what node-cron runs on real time would fire at a real quarter hour,
    // whatever the test's clock says: a test runs it itself.
    maintenance: false,
  });
  return { service, store: new PatientStore(redisFixture.redis, { prefix: `${prefix}:` }), prefix };
}

/** A small deterministic random source, so fault patterns repeat run to run. */
export function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}
