import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { slackRequests } from '../../../adapters/slack/delivery.ts';
import { createSlackSender } from '../../../adapters/slack/sender.ts';
import { type FakeSlackApi, startFakeSlackApi } from '../../support/fake-slack-api.ts';
import { useRedis } from '../../support/redis.ts';

const redisFixture = useRedis();
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64');

describe('slack sender against the fake Slack API', () => {
  let fake: FakeSlackApi;
  beforeEach(async () => {
    fake = await startFakeSlackApi();
  });
  afterEach(() => fake.stop());

  it('sends a picture and its text as two requests: the upload, then the message', async () => {
    const sender = createSlackSender({
      apiUrl: fake.apiUrl,
      tokenFor: async () => 'xoxb-test',
      redis: redisFixture.redis,
      prefix: redisFixture.prefix(),
    });
    const [picture, text, more] = slackRequests({
      text: 'Your team’s week',
      image: { png: PNG, alt: 'Roster' },
    });
    if (!picture || !text || more) throw new Error('expected a picture and a text');
    expect(await sender.postToChannel('T1', 'C1', picture)).toEqual({ ok: true });
    expect(fake.uploads()).toEqual([expect.objectContaining({ filename: 'chart.png', channel: 'C1' })]);
    expect(fake.calls('chat.postMessage')).toEqual([]);

    expect(await sender.postToChannel('T1', 'C1', text)).toMatchObject({ ok: true });
    expect(fake.uploads()).toHaveLength(1);
    expect(fake.calls('chat.postMessage')).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({ channel: 'C1', text: 'Your team’s week' }),
      }),
    ]);
  });

  describe('a paced message’s departure', () => {
    /** A sender whose token takes `ms` to look up, as an OAuth installation's read can. */
    const slowToken = (ms: number) =>
      createSlackSender({
        apiUrl: fake.apiUrl,
        tokenFor: () => new Promise((resolve) => setTimeout(() => resolve('xoxb-test'), ms)),
        redis: redisFixture.redis,
        prefix: redisFixture.prefix(),
      });

    it('is told late when the waits before the request made it late, on the caller’s clock', async () => {
      const told: number[] = [];
      // In time when the call is made; no longer once the token has been read.
      const lateAfter = performance.now() + 5;
      const departure = { lateAfter, leftLate: (at: number) => told.push(at) };
      await slowToken(40).postToChannel('T1', 'C1', { text: 'Late' }, departure);
      await slowToken(40).send(
        'sl:T1:U1',
        { text: 'Late too' },
        { ...departure, lateAfter: performance.now() + 5 },
      );
      expect(told).toHaveLength(2);
      expect(told[0]).toBeGreaterThan(lateAfter);
      expect(fake.calls('chat.postMessage')).toHaveLength(2);
    });

    it('is told nothing when the request goes in time', async () => {
      const told: number[] = [];
      const departure = { lateAfter: performance.now() + 60_000, leftLate: (at: number) => told.push(at) };
      await slowToken(0).postToChannel('T1', 'C1', { text: 'On time' }, departure);
      await slowToken(0).send('sl:T1:U1', { text: 'On time too' }, departure);
      expect(told).toEqual([]);
      expect(fake.calls('chat.postMessage')).toHaveLength(2);
    });
  });
});
