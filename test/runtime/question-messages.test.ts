import { describe, expect, it } from 'vitest';
import { QuestionMessages } from '../../src/runtime/question-messages.ts';
import { keysOf } from '../../src/runtime/store.ts';
import { useRedis } from '../support/redis.ts';

const redisFixture = useRedis();

describe('QuestionMessages', () => {
  it('keeps every message that shows a question until it is forgotten', async () => {
    const prefix = redisFixture.prefix();
    const questions = new QuestionMessages(redisFixture.redis, prefix);
    await questions.remember('tg:1', 5, '100');
    await questions.remember('tg:1', 5, '1700000000.000104'); // the same question asked again
    await questions.remember('tg:1', 6, '105');
    expect(await questions.of('tg:1', 5)).toEqual(['100', '1700000000.000104']);
    await questions.forget('tg:1', 5);
    expect(await questions.of('tg:1', 5)).toEqual([]);
    expect(await questions.of('tg:1', 6)).toEqual(['105']);
    expect(await questions.of('tg:2', 6)).toEqual([]);
  });

  it("does not bring back a question whose tapped message was closed before that message's record came", async () => {
    const prefix = redisFixture.prefix();
    const questions = new QuestionMessages(redisFixture.redis, prefix);
    // The patient taps message 200 before the sender has recorded it.
    await questions.forget('tg:4', 7, '200');
    expect(await questions.of('tg:4', 7)).toEqual([]);
    await questions.remember('tg:4', 7, '200');
    expect(await questions.of('tg:4', 7)).toEqual([]);
    // Asked again in a new message (the answer was not accepted): that one is kept, to be closed.
    await questions.forget('tg:4', 8, '210');
    await questions.remember('tg:4', 8, '211');
    expect(await questions.of('tg:4', 8)).toEqual(['211']);
    // A tap on a message already recorded closes the question as before.
    await questions.remember('tg:4', 9, '220');
    await questions.forget('tg:4', 9, '220');
    expect(await questions.of('tg:4', 9)).toEqual([]);
    await questions.remember('tg:4', 9, '221');
    expect(await questions.of('tg:4', 9)).toEqual(['221']);
  });

  it('keeps the twenty newest questions, and expires the record', async () => {
    const prefix = redisFixture.prefix();
    const questions = new QuestionMessages(redisFixture.redis, prefix);
    for (let seq = 1; seq <= 30; seq++) await questions.remember('tg:3', seq, String(1000 + seq));
    const key = keysOf('tg:3', prefix).platform;
    const fields = (await redisFixture.redis.hkeys(key)).map((f) => Number(f.slice(1))).sort((a, b) => a - b);
    expect(fields).toEqual(Array.from({ length: 20 }, (_, i) => 11 + i));
    expect(await redisFixture.redis.ttl(key)).toBeGreaterThan(29 * 24 * 3600);
  });

  it('remembers the questions of many deliveries at once in a few writes, each as its own', async () => {
    const prefix = redisFixture.prefix();
    const redis = redisFixture.redis.duplicate();
    const questions = new QuestionMessages(redis, prefix);
    // Counts the writes: each is one command, however many questions it carries.
    const scripted = redis as unknown as { backcoachRememberQuestions(...args: unknown[]): Promise<void> };
    const write = scripted.backcoachRememberQuestions.bind(redis);
    let writes = 0;
    scripted.backcoachRememberQuestions = (...args) => {
      writes++;
      return write(...args);
    };
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => questions.remember(`tg:${700 + i}`, 3, String(9000 + i))),
    );
    expect(writes).toBeLessThanOrEqual(2);
    for (let i = 0; i < 40; i++) expect(await questions.of(`tg:${700 + i}`, 3)).toEqual([String(9000 + i)]);
    await redis.quit();
  });
});
