import type { Redis } from 'ioredis';
import { keysOf } from '../../src/runtime/store.ts';

/** Old questions' entries are dropped: their buttons are answered as stale if ever tapped. */
const KEEP_QUESTIONS = 20;
/** A chat that goes quiet loses the whole record after this long. */
const TTL_SECONDS = 30 * 24 * 3600;

/**
 * Which Telegram messages carry the buttons of which question, per patient, so the message can be
 * closed (its buttons removed) once the question is answered, even when it was answered by typing.
 * Kept under the patient's own keys, so `/delete` removes it with everything else.
 */
export class QuestionMessages {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(patientId: string): string {
    return keysOf(patientId, this.prefix).platform;
  }

  async remember(patientId: string, seq: number, messageId: number): Promise<void> {
    const key = this.key(patientId);
    const [known, fields] = await Promise.all([this.redis.hget(key, `q${seq}`), this.redis.hkeys(key)]);
    const ids = new Set((known ?? '').split(' ').filter(Boolean));
    ids.add(String(messageId));
    const stale = fields.filter((f) => f.startsWith('q') && Number(f.slice(1)) <= seq - KEEP_QUESTIONS);
    const tx = this.redis.multi().hset(key, `q${seq}`, [...ids].join(' '));
    if (stale.length > 0) tx.hdel(key, ...stale);
    await tx.expire(key, TTL_SECONDS).exec();
  }

  /** The message ids showing question `seq`. */
  async of(patientId: string, seq: number): Promise<number[]> {
    const known = await this.redis.hget(this.key(patientId), `q${seq}`);
    return (known ?? '').split(' ').filter(Boolean).map(Number);
  }

  /** The question's messages are closed: forget them. */
  async forget(patientId: string, seq: number): Promise<void> {
    await this.redis.hdel(this.key(patientId), `q${seq}`);
  }
}
