import type { Redis } from 'ioredis';
import { groupedWrites } from './grouped-calls.ts';
import { keysOf } from './store.ts';

/** Old questions' entries are dropped: their buttons are answered as stale if ever tapped. */
const KEEP_QUESTIONS = 20;
/** A chat that goes quiet loses the whole record after this long. */
const TTL_SECONDS = 30 * 24 * 3600;

/** Starts a question's field once its tapped message is closed: `-<message id>`. */
const CLOSED = '-';

// For each question delivered: adds the message id to the question's field, drops the fields of
// questions long gone, renews the TTL. A message whose question was closed by a tap on that very
// message before its record came (`CLOSED`) is not added: it was closed where it was tapped. KEYS:
// one per question; ARGV: keep, ttl, then seq and message id for each.
const REMEMBER = `
local keep, ttl = tonumber(ARGV[1]), ARGV[2]
for i = 1, #KEYS do
  local seq, id = ARGV[2 * i + 1], ARGV[2 * i + 2]
  local field = 'q' .. seq
  local known = redis.call('HGET', KEYS[i], field)
  if known and string.sub(known, 1, 1) == '${CLOSED}' then
    if string.sub(known, 2) == id then redis.call('HDEL', KEYS[i], field) else redis.call('HSET', KEYS[i], field, id) end
  else
    redis.call('HSET', KEYS[i], field, known and (known .. ' ' .. id) or id)
  end
  local oldest = tonumber(seq) - keep
  for _, f in ipairs(redis.call('HKEYS', KEYS[i])) do
    local n = tonumber(string.sub(f, 2))
    if n and n <= oldest then redis.call('HDEL', KEYS[i], f) end
  end
  redis.call('EXPIRE', KEYS[i], ttl)
end
`;

type QuestionsRedis = Redis & {
  backcoachRememberQuestions(...args: (string | number)[]): Promise<void>;
};

interface Delivered {
  key: string;
  seq: number;
  messageId: string;
}

/**
 * Which platform messages (Telegram message ids, Slack timestamps) carry the buttons of which question, per patient, so the message can be
 * closed (its buttons removed) once the question is answered, even when it was answered by typing.
 * Kept under the patient's own keys, so `/delete` removes it with everything else.
 */
export class QuestionMessages {
  private readonly redis: QuestionsRedis;
  private readonly remembered: (question: Delivered) => Promise<void>;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    // By digest (EVALSHA): the script is not sent, nor hashed by Redis, for every question delivered.
    if (!('backcoachRememberQuestions' in redis)) {
      redis.defineCommand('backcoachRememberQuestions', { lua: REMEMBER });
    }
    this.redis = redis as QuestionsRedis;
    this.remembered = groupedWrites((questions) =>
      this.redis.backcoachRememberQuestions(
        questions.length,
        ...questions.map((q) => q.key),
        KEEP_QUESTIONS,
        TTL_SECONDS,
        ...questions.flatMap((q) => [q.seq, q.messageId]),
      ),
    );
  }

  private key(patientId: string): string {
    return keysOf(patientId, this.prefix).platform;
  }

  /**
   * It runs for every question delivered, pushes included, so the questions delivered while one
   * write is on its way go together in the next (`groupedWrites`).
   */
  remember(patientId: string, seq: number, messageId: string): Promise<void> {
    return this.remembered({ key: this.key(patientId), seq, messageId });
  }

  /** The message ids showing question `seq`. */
  async of(patientId: string, seq: number): Promise<string[]> {
    const known = await this.redis.hget(this.key(patientId), `q${seq}`);
    if (known?.startsWith(CLOSED)) return [];
    return (known ?? '').split(' ').filter(Boolean);
  }

  /**
   * The question's messages are closed: forget them. `tapped`: the message whose button was tapped,
   * which the tap closes itself. A patient taps as soon as a message shows, which can be before the
   * sender has recorded it (after its turn): that record must not bring the question back, or the
   * reply would close the message a second time.
   */
  async forget(patientId: string, seq: number, tapped?: string): Promise<void> {
    if (tapped === undefined) await this.redis.hdel(this.key(patientId), `q${seq}`);
    else await this.redis.hset(this.key(patientId), `q${seq}`, `${CLOSED}${tapped}`);
  }
}
