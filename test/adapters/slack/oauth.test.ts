import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisInstallationStore } from '../../../adapters/slack/installation-store.ts';
import type { Service } from '../../../src/runtime/service.ts';
import { type FakeSlackApi, slackInstallation, startFakeSlackApi } from '../../support/fake-slack-api.ts';
import { useRedis } from '../../support/redis.ts';
import { startTestService } from '../../support/service.ts';
import { SlackUser } from '../../support/slack-user.ts';

const redisFixture = useRedis();
const SECRET = 'oauth-signing-secret';
let fake: FakeSlackApi;
let service: Service;

beforeAll(async () => {
  fake = await startFakeSlackApi({ tokens: { 'xoxb-team-a': 'TA', 'xoxb-team-b': 'TB' } });
  for (const id of ['UA1', 'UB1']) fake.setUser(id, { tz: 'Europe/Berlin', locale: 'en-US' });
  const prefix = redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '');
  const installations = new RedisInstallationStore(redisFixture.redis, `${prefix}:`);
  await installations.storeInstallation(slackInstallation('TA', 'xoxb-team-a'));
  await installations.storeInstallation(slackInstallation('TB', 'xoxb-team-b'));
  ({ service } = await startTestService(
    redisFixture,
    {
      SLACK_CLIENT_ID: '123.456',
      SLACK_CLIENT_SECRET: 'client-secret',
      SLACK_STATE_SECRET: 'a-state-secret-of-some-length',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      SLACK_PORT: '0',
    },
    undefined,
    prefix,
  ));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

describe('Slack installed in several workspaces (OAuth installs kept in Redis)', () => {
  it('answers each workspace with its own installation’s token', async () => {
    const url = () => `http://127.0.0.1:${service.slackPort}/slack/events`;
    const a = new SlackUser(fake, url, SECRET, 'TA', 'UA1');
    const b = new SlackUser(fake, url, SECRET, 'TB', 'UB1');
    await a.say('hello', /Backcoach/);
    await b.say('hello', /Backcoach/);
    expect(new Set(a.posted().map((m) => m.call.token))).toEqual(new Set(['xoxb-team-a']));
    expect(new Set(b.posted().map((m) => m.call.token))).toEqual(new Set(['xoxb-team-b']));
  });

  it('sends an installer to Slack’s consent page', async () => {
    const res = await fetch(`http://127.0.0.1:${service.slackPort}/slack/install`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(
      /^https:\/\/slack\.com\/oauth\/v2\/authorize\?.*client_id=123\.456/,
    );
  });
});
