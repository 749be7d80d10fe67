import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Service } from '../../../src/runtime/service.ts';
import type { PatientStore } from '../../../src/runtime/store.ts';
import { TestClock } from '../../support/chat-journey.ts';
import { type FakeSlackApi, startFakeSlackApi } from '../../support/fake-slack-api.ts';
import { useRedis } from '../../support/redis.ts';
import { startTestService } from '../../support/service.ts';
import { eventEnvelope } from '../../support/slack-requests.ts';
import { dmJourney, overSocketMode, SlackUser } from '../../support/slack-user.ts';

const redisFixture = useRedis();
const TOKEN = 'xoxb-test-workspace';
const APP_TOKEN = 'xapp-1-A1-test';
const clock = new TestClock(Date.parse('2026-06-01T05:00:00Z'));
let fake: FakeSlackApi;
let service: Service;
let store: PatientStore;

// Over Socket Mode there is no receiver to post to: everything comes through the fake's socket.
const user = (id: string) => new SlackUser(fake, () => 'socket-mode', '', 'T1', id, overSocketMode(fake));

beforeAll(async () => {
  fake = await startFakeSlackApi({ tokens: { [TOKEN]: 'T1' }, appToken: APP_TOKEN });
  for (const id of ['U1', 'U2', 'U3']) fake.setUser(id, { tz: 'Europe/Berlin', locale: 'en-US' });
  ({ service, store } = await startTestService(
    redisFixture,
    // No signing secret and no port: Socket Mode needs neither.
    { SLACK_BOT_TOKEN: TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_API_URL: fake.apiUrl },
    clock.read,
  ));
  // The app opened its connection through the configured API URL, with its app-level token.
  await vi.waitFor(() => expect(fake.socketMode.open).toBe(1));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

describe('Slack over Socket Mode, through the real Bolt app and its WebSocket client', () => {
  it('coaches a person in a DM from the first message through a breakthrough and a setback', async () => {
    await dmJourney(user('U1'), clock, store, TOKEN);
  });

  it('answers the slash command in its acknowledgement and the rest in the DM', async () => {
    const u1 = user('U1');
    const ack = await fake.socketMode.deliver('slash_commands', {
      command: '/backcoach',
      text: 'progress',
      user_id: 'U1',
      team_id: 'T1',
      channel_id: 'C1',
      trigger_id: 'trig-1',
      response_url: 'https://hooks.slack.com/commands/T1/1/x',
    });
    expect(JSON.stringify(ack.payload)).toContain('direct messages');
    await vi.waitFor(() => expect(u1.texts().at(-1)).toMatch(/level/));
  });

  it('handles an event Slack delivers again (its acknowledgement was lost) once', async () => {
    const u2 = user('U2');
    const envelope = u2.dmEnvelope('hi there', 'EvSOCKETRETRY1');
    await u2.act(() => u2.send('event', envelope));
    const count = u2.posted().length;
    await fake.socketMode.deliver('events_api', envelope, { retryAttempt: 1 });
    await u2.say('help', /What I can do/);
    expect(u2.posted()).toHaveLength(count + 1);
  });

  it('reconnects when Slack asks it to, and goes on coaching on the new connection', async () => {
    const opened = fake.socketMode.opened;
    fake.socketMode.refresh();
    await vi.waitFor(() => {
      expect(fake.socketMode.opened).toBe(opened + 1);
      expect(fake.socketMode.open).toBe(1);
    }, 10_000);
    const u3 = user('U3');
    expect((await u3.say('hello')).map((m) => m.text).join('\n')).toMatch(/Hi, I’m Backcoach/);
    // A tap comes as an interactive envelope.
    await u3.tap('yes', /safety questions/);
    expect(fake.calls('apps.connections.open').length).toBe(fake.socketMode.opened);
    // Every event was acknowledged: deliver() rejects on a missing acknowledgement.
    await fake.socketMode.deliver(
      'events_api',
      eventEnvelope({ teamId: 'T1', event: { type: 'app_mention' } }),
    );
  });
});
