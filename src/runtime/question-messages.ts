import type { Redis } from 'ioredis';
import { keysOf } from './store.ts';

/** Old questions' entries are dropped: their buttons are answered as stale if ever tapped. */
const KEEP_QUESTIONS = 20;
/** A chat that goes quiet loses the whole record after this long. */
const TTL_SECONDS = 30 * 24 * 3600;

// Adds the message id to the question's field, drops the fields of questions long gone, renews the TTL.
const REMEMBER = `
local field = 'q' .. ARGV[1]
local known = redis.call('HGET', KEYS[1], field)
redis.call('HSET', KEYS[1], field, known and (known .. ' ' .. ARGV[2]) or ARGV[2])
local oldest = tonumber(ARGV[1]) - tonumber(ARGV[3])
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local n = tonumber(string.sub(f, 2))
  if n and n <= oldest then redis.call('HDEL', KEYS[1], f) end
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
`;

type QuestionsRedis = Redis & {
  backcoachRememberQuestion(
    key: string,
    seq: number,
    messageId: string,
    keep: number,
    ttl: number,
  ): Promise<void>;
};

/**
 * Which platform messages (Telegram message ids, Slack timestamps) carry the buttons of which question, per patient, so the message can be
 * closed (its buttons removed) once the question is answered, even when it was answered by typing.
 * Kept under the patient's own keys, so `/delete` removes it with everything else.
 */
export class QuestionMessages {
  private readonly redis: QuestionsRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    // By digest (EVALSHA): the script is not sent, nor hashed by Redis, for every question delivered.
    if (!('backcoachRememberQuestion' in redis)) {
      redis.defineCommand('backcoachRememberQuestion', { numberOfKeys: 1, lua: REMEMBER });
    }
    this.redis = redis as QuestionsRedis;
  }

  private key(patientId: string): string {
    return keysOf(patientId, this.prefix).platform;
  }

  /** One round trip: it runs for every question delivered, pushes included. */
  async remember(patientId: string, seq: number, messageId: string): Promise<void> {
    await this.redis.backcoachRememberQuestion(
      this.key(patientId),
      seq,
      messageId,
      KEEP_QUESTIONS,
      TTL_SECONDS,
    );
  }

  /** The message ids showing question `seq`. */
  async of(patientId: string, seq: number): Promise<string[]> {
    const known = await this.redis.hget(this.key(patientId), `q${seq}`);
    return (known ?? '').split(' ').filter(Boolean);
  }

  /** The question's messages are closed: forget them. */
  async forget(patientId: string, seq: number): Promise<void> {
    await this.redis.hdel(this.key(patientId), `q${seq}`);
  }
}
