import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { postTeamDigests } from '../../../adapters/slack/team-digests.ts';
import { TeamStore } from '../../../adapters/slack/team-store.ts';
import { Outbox } from '../../../jobs/delivery.ts';
import { QUEUES } from '../../../jobs/queues.ts';
import type { Service } from '../../../src/runtime/service.ts';
import type { PatientStore } from '../../../src/runtime/store.ts';
import { onboard, TestClock } from '../../support/chat-journey.ts';
import { realContent } from '../../support/content.ts';
import { type FakeSlackApi, startFakeSlackApi } from '../../support/fake-slack-api.ts';
import { useRedis } from '../../support/redis.ts';
import { startTestService } from '../../support/service.ts';
import { eventEnvelope, homeOpened, nowSeconds } from '../../support/slack-requests.ts';
import { dmJourney, SlackUser } from '../../support/slack-user.ts';

const redisFixture = useRedis();
const SECRET = 'slack-signing-secret-for-tests';
const TOKEN = 'xoxb-test-workspace';
const clock = new TestClock(Date.parse('2026-06-01T05:00:00Z'));
let fake: FakeSlackApi;
let service: Service;
let store: PatientStore;
let prefix: string;

const eventsUrl = () => `http://127.0.0.1:${service.slackPort}/slack/events`;
const user = (id: string) => new SlackUser(fake, eventsUrl, SECRET, 'T1', id);

beforeAll(async () => {
  fake = await startFakeSlackApi({ tokens: { [TOKEN]: 'T1' } });
  for (const id of ['U1', 'U2', 'U3', 'U4']) fake.setUser(id, { tz: 'Europe/Berlin', locale: 'en-US' });
  fake.setUser('UDE', { tz: 'Europe/Berlin', locale: 'de-DE' });
  fake.setUser('UADMIN', { tz: 'Europe/Berlin', locale: 'en-US', isAdmin: true });
  ({ service, store, prefix } = await startTestService(
    redisFixture,
    {
      SLACK_BOT_TOKEN: TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      SLACK_PORT: '0',
    },
    clock.read,
  ));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

describe('Slack over HTTP, through the real Bolt app and Web API client', () => {
  it('coaches a person in a DM from the first message through a breakthrough and a setback', async () => {
    const u1 = user('U1');
    await dmJourney(u1, clock, store, TOKEN);
    // Taps closed their question with the answer shown.
    const age = u1.posted().find((m) => /How old are you/.test(m.text));
    const ageUpdates = u1.updates().filter((c) => c.payload.ts === age?.ts);
    expect(ageUpdates).toHaveLength(1);
    expect(JSON.stringify(ageUpdates[0]?.payload.blocks)).toContain('✓ 20–39');
    expect(JSON.stringify(ageUpdates[0]?.payload.blocks)).not.toContain('"actions"');
    // The typed baseline pain closed that question too.
    const baseline = u1.posted().find((m) => /How bad is your back pain right now/.test(m.text));
    expect(u1.updates().some((c) => c.payload.ts === baseline?.ts)).toBe(true);
    // App Home followed the patient's state.
    const homes = fake.calls('views.publish').filter((c) => c.payload.user_id === 'U1');
    expect(homes.length).toBeGreaterThan(5);
    expect(JSON.stringify(homes.at(-1)?.payload.view)).toContain('level');
  });

  it('sends /export as two files in the DM', async () => {
    const u1 = user('U1');
    await u1.say('export', /.+/);
    await vi.waitFor(() => expect(fake.uploads().filter((f) => f.channel === 'DU1')).toHaveLength(2));
    const [json, csv] = fake.uploads().filter((f) => f.channel === 'DU1');
    expect(json?.filename).toMatch(/^backcoach-\d{4}-\d{2}-\d{2}\.json$/);
    expect(json?.body).toContain('sl:T1:U1');
    expect(csv?.filename).toMatch(/\.csv$/);
  });

  it('takes the language and timezone from the Slack profile', async () => {
    const de = user('UDE');
    await de.say('hallo', /Backcoach/);
    const state = await store.load('sl:T1:UDE');
    expect(state?.locale).toBe('de');
    expect(state?.schedule.timezone).toBe('Europe/Berlin');
  });

  it('handles a redelivered event once', async () => {
    const u2 = user('U2');
    const envelope = u2.dmEnvelope('hi there', 'EvRETRY1');
    await u2.act(() => u2.send('event', envelope));
    const count = u2.posted().length;
    const again = await u2.post('event', envelope, { retryNum: 1 });
    expect(again.status).toBe(200);
    await u2.say('help', /What I can do/);
    expect(u2.posted()).toHaveLength(count + 1);
  });

  it('ignores a tap by someone else on a person’s question, and a forged button value', async () => {
    const u1 = user('U1');
    await u1.say('settings');
    const before = await store.load('sl:T1:U1');
    const question = u1.messageWithButton('language');
    // U3 sends a signed tap on U1's message (a replayed or forged interaction).
    const forged = u1.tapPayload(question, 'language') as unknown as {
      user: { id: string };
      actions: { value: string }[];
    };
    forged.user.id = 'U3';
    expect((await u1.post('interaction', forged)).status).toBe(200);
    const bogus = u1.tapPayload(question, 'language') as unknown as { actions: { value: string }[] };
    const first = bogus.actions[0];
    if (first) first.value = '{"seq":1}';
    expect((await u1.post('interaction', bogus)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await store.load('sl:T1:U1')).toEqual(before);
    expect(await store.load('sl:T1:U3')).toBeNull();
    // U1's own tap still works.
    await u1.tap('done', /./);
  });

  it('refuses a missing, wrong or stale signature with 401 and changes nothing', async () => {
    const u3 = user('U3');
    const envelope = u3.dmEnvelope('hello');
    const refused = [
      { signature: null },
      { signature: 'v0=0000000000000000000000000000000000000000000000000000000000000000' },
      { timestamp: nowSeconds() - 6 * 60 },
    ];
    for (const opts of refused) {
      const res = await u3.post('event', envelope, opts);
      expect(res.status).toBe(401);
    }
    const tap = await u3.post(
      'interaction',
      { type: 'block_actions', team: { id: 'T1' }, user: { id: 'U3' }, actions: [] },
      { signature: null },
    );
    expect(tap.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await store.load('sl:T1:U3')).toBeNull();
    expect(u3.posted()).toEqual([]);
  });

  it('takes the slash command, answers in the DM, and publishes App Home when opened', async () => {
    const u1 = user('U1');
    const res = await u1.post('command', {
      command: '/backcoach',
      text: 'progress',
      user_id: 'U1',
      team_id: 'T1',
      channel_id: 'C1',
      trigger_id: 'trig-1',
      response_url: 'https://hooks.slack.com/commands/T1/1/x',
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('direct messages');
    await vi.waitFor(() => expect(u1.texts().at(-1)).toMatch(/level/));

    // Someone who has not finished setting up opens the Home tab: it invites them to start.
    const homesOf = (id: string) => fake.calls('views.publish').filter((c) => c.payload.user_id === id);
    const before = homesOf('U2').length;
    await u1.send('event', eventEnvelope({ teamId: 'T1', event: homeOpened({ teamId: 'T1', user: 'U2' }) }));
    await vi.waitFor(() => expect(homesOf('U2')).toHaveLength(before + 1));
    expect(JSON.stringify(homesOf('U2').at(-1)?.payload.view)).toContain('Get started');
  });

  it('runs a wellness team: an admin creates it, members join, the digest hides figures below five', async () => {
    const command = (userId: string, text: string, channel = 'CTEAM') =>
      user(userId).post('command', {
        command: '/backcoach',
        text,
        user_id: userId,
        team_id: 'T1',
        channel_id: channel,
        trigger_id: `trig-${userId}-${text}`,
        response_url: 'https://hooks.slack.com/commands/T1/1/x',
      });
    expect(await (await command('U1', 'team create backstreet')).text()).toContain('Only a workspace admin');
    expect(await (await command('UADMIN', 'team create backstreet')).text()).toContain('backstreet');
    expect(await (await command('U3', 'join backstreet')).text()).toContain('set up Backcoach');
    expect(await (await command('U1', 'join backstreet')).text()).toContain('joined backstreet');
    expect(await (await command('U1', 'join nowhere')).text()).toContain('no team called nowhere');

    const teams = new TeamStore(redisFixture.redis, `${prefix}:`);
    const team = await teams.get('T1', 'backstreet');
    expect(team?.channel).toBe('CTEAM');
    const connection = new Redis(redisFixture.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUES.outbox, { connection, prefix: `{${prefix}q}` });
    try {
      const opts = {
        teams,
        store,
        outbox: new Outbox(queue, connection),
        content: realContent(),
        locale: 'en' as const,
        log: pino({ level: 'silent' }),
      };
      await postTeamDigests(opts, clock.now + 7 * 86_400_000);
      await vi.waitFor(() =>
        expect(fake.calls('chat.postMessage').some((c) => c.payload.channel === 'CTEAM')).toBe(true),
      );
      const digest = fake.calls('chat.postMessage').find((c) => c.payload.channel === 'CTEAM');
      expect(String(digest?.payload.text)).toMatch(/hidden|privacy/i);
      expect(String(digest?.payload.text)).not.toContain('U1');
      // Run again the same week: nothing is posted twice.
      await postTeamDigests(opts, clock.now + 7 * 86_400_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(fake.calls('chat.postMessage').filter((c) => c.payload.channel === 'CTEAM')).toHaveLength(1);
    } finally {
      await queue.close();
      await connection.quit();
    }
    expect(await (await command('U1', 'leave')).text()).toContain('left backstreet');
  });

  it('marks a deactivated Slack user unreachable', async () => {
    const u4 = user('U4');
    await onboard(u4, 'hello');
    fake.setBehaviour({ blockedUsers: new Set(['U4']) });
    await u4.send('event', u4.dmEnvelope('help'));
    await vi.waitFor(async () => expect((await store.load('sl:T1:U4'))?.unreachableSince).toBeDefined());
    fake.setBehaviour({ blockedUsers: undefined });
  });
});
