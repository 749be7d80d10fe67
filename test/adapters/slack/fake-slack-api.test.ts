import { createHmac } from 'node:crypto';
import { ErrorCode, WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type FakeSlackApi, startFakeSlackApi } from '../../support/fake-slack-api.ts';
import { signSlackRequest } from '../../support/slack-requests.ts';

const TOKEN_A = 'xoxb-team-a';
const TOKEN_B = 'xoxb-team-b';
let fake: FakeSlackApi;

beforeAll(async () => {
  // Always 0: any configured fault rate above 0 hits, so the fault tests are deterministic.
  fake = await startFakeSlackApi({ tokens: { [TOKEN_A]: 'TA', [TOKEN_B]: 'TB' }, random: () => 0 });
});

afterAll(async () => {
  await fake?.stop();
});

afterEach(() => {
  fake.setBehaviour({
    rateLimited: undefined,
    failRate: undefined,
    blockedUsers: undefined,
    perChannelPerSecond: undefined,
  });
  fake.resetStats();
});

function client(token: string): WebClient {
  return new WebClient(token, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
}

describe('fake Slack Web API through the real WebClient', () => {
  it('answers auth.test with the team the token belongs to', async () => {
    const result = await client(TOKEN_B).auth.test();
    expect(result).toMatchObject({ ok: true, team_id: 'TB', user_id: 'UBOT', bot_id: 'BBOT' });
  });

  it('posts a message and records it with its parsed blocks and the token used', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'Hello' } }];
    const first = await client(TOKEN_A).chat.postMessage({ channel: 'DU1', text: 'Hello', blocks });
    const second = await client(TOKEN_A).chat.postMessage({ channel: 'DU1', text: 'Again' });
    expect(first).toMatchObject({ ok: true, channel: 'DU1', message: { text: 'Hello' } });
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));

    const calls = fake.calls('chat.postMessage');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ token: TOKEN_A, payload: { channel: 'DU1', text: 'Hello', blocks } });
    expect(fake.stats.requests.get('chat.postMessage')).toBe(2);
  });

  it('opens a DM, updates a message and publishes a home view', async () => {
    const web = client(TOKEN_A);
    const opened = await web.conversations.open({ users: 'U7' });
    expect(opened.channel?.id).toBe('DU7');
    const updated = await web.chat.update({ channel: 'DU7', ts: '1700000000.000101', text: 'Edited' });
    expect(updated).toMatchObject({ ok: true, channel: 'DU7', ts: '1700000000.000101', text: 'Edited' });
    const view = { type: 'home' as const, blocks: [] };
    const published = await web.views.publish({ user_id: 'U7', view });
    expect(published.view?.id).toBe('V1');
    expect(fake.calls('views.publish')[0]?.payload.view).toEqual(view);
  });

  it('looks users up in the directory the test sets', async () => {
    fake.setUser('U42', { tz: 'America/New_York', locale: 'es-ES', isAdmin: true, name: 'ana' });
    const found = await client(TOKEN_A).users.info({ user: 'U42', include_locale: true });
    expect(found.user).toMatchObject({
      id: 'U42',
      name: 'ana',
      tz: 'America/New_York',
      locale: 'es-ES',
      is_admin: true,
    });
    expect([-5 * 3600, -4 * 3600]).toContain(found.user?.tz_offset);
    await expect(client(TOKEN_A).users.info({ user: 'U404' })).rejects.toMatchObject({
      data: { ok: false, error: 'user_not_found' },
    });
  });

  it('refuses a token it does not know with invalid_auth', async () => {
    await expect(client('xoxb-stranger').auth.test()).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'invalid_auth' },
    });
  });

  it('answers 429 with Retry-After, which WebClient reports as a rate-limited error', async () => {
    fake.setBehaviour({ rateLimited: { rate: 1, retryAfter: 7 } });
    await expect(client(TOKEN_A).chat.postMessage({ channel: 'DU1', text: 'Hi' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 7,
    });
    expect(fake.stats.status429).toBe(1);
    expect(fake.calls('chat.postMessage')).toHaveLength(0);
    // Methods outside the fault list are not limited.
    await expect(client(TOKEN_A).auth.test()).resolves.toMatchObject({ ok: true });
  });

  it('answers 429 to a second post in a channel within its per-channel second, not in another channel', async () => {
    fake.setBehaviour({ perChannelPerSecond: 1 });
    const slack = client(TOKEN_A);
    await slack.chat.postMessage({ channel: 'U7', text: 'one' });
    // U7 and its DM channel DU7 are the same channel.
    await expect(slack.chat.postMessage({ channel: 'DU7', text: 'two' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 1,
    });
    await expect(slack.chat.postMessage({ channel: 'C1', text: 'elsewhere' })).resolves.toMatchObject({
      ok: true,
    });
    expect(fake.stats.status429).toBe(1);
    expect(fake.calls('chat.postMessage').map((c) => c.payload.text)).toEqual(['one', 'elsewhere']);
  });

  it('answers 500 at the fail rate', async () => {
    fake.setBehaviour({ failRate: 1 });
    await expect(client(TOKEN_A).chat.update({ channel: 'DU1', ts: '1.2', text: 'x' })).rejects.toMatchObject(
      {
        code: ErrorCode.HTTPError,
        statusCode: 500,
      },
    );
    expect(fake.stats.status500).toBe(1);
  });

  it('answers account_inactive for a DM to a deactivated user', async () => {
    fake.setBehaviour({ blockedUsers: new Set(['U9']) });
    await expect(client(TOKEN_A).chat.postMessage({ channel: 'DU9', text: 'Hi' })).rejects.toMatchObject({
      data: { error: 'account_inactive' },
    });
    await expect(client(TOKEN_A).chat.postMessage({ channel: 'DU8', text: 'Hi' })).resolves.toMatchObject({
      ok: true,
    });
  });

  it('answers unknown_method for a method it does not implement', async () => {
    await expect(client(TOKEN_A).apiCall('reactions.add', { name: 'x' })).rejects.toMatchObject({
      data: { error: 'unknown_method' },
    });
  });
});

describe('signSlackRequest', () => {
  it("matches the example in Slack's documentation", () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', body, 1531420618)).toEqual({
      'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      'x-slack-request-timestamp': '1531420618',
    });
  });

  it('signs with the current time by default', () => {
    const before = Math.floor(Date.now() / 1000);
    const headers = signSlackRequest('secret', '{}');
    const ts = Number(headers['x-slack-request-timestamp']);
    expect(ts).toBeGreaterThanOrEqual(before);
    const expected = createHmac('sha256', 'secret').update(`v0:${ts}:{}`).digest('hex');
    expect(headers['x-slack-signature']).toBe(`v0=${expected}`);
  });
});

describe('fake Slack Socket Mode', () => {
  it('opens a connection only for an app-level token, and refuses to deliver on none', async () => {
    await expect(client(TOKEN_A).apps.connections.open()).rejects.toMatchObject({
      data: { error: 'invalid_auth' },
    });
    await expect(fake.socketMode.deliver('events_api', {})).rejects.toThrow(/no Socket Mode connection/);
    const opened = await client('xapp-1-any').apps.connections.open();
    expect(opened.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\//);
  });

  it('greets a connection with hello, and waits for each envelope to be acknowledged', async () => {
    const { url } = await client('xapp-1-any').apps.connections.open();
    const ws = new WebSocket(String(url));
    const received: { type?: string; envelope_id?: string }[] = [];
    ws.on('message', (data) => received.push(JSON.parse(String(data))));
    await expect.poll(() => received[0]?.type).toBe('hello');
    expect(fake.socketMode.open).toBe(1);
    // Unacknowledged, the envelope fails its delivery; acknowledged, it resolves with the answer.
    await expect(fake.socketMode.deliver('events_api', { a: 1 }, { timeoutMs: 200 })).rejects.toThrow(
      /not acknowledged/,
    );
    const delivered = fake.socketMode.deliver('slash_commands', { command: '/backcoach' });
    await expect.poll(() => received.length).toBe(3);
    const envelope = received[2] as { envelope_id: string; type: string };
    expect(envelope.type).toBe('slash_commands');
    ws.send(JSON.stringify({ envelope_id: envelope.envelope_id, payload: { text: 'ok' } }));
    await expect(delivered).resolves.toEqual({ envelope_id: envelope.envelope_id, payload: { text: 'ok' } });
    fake.socketMode.refresh();
    await expect.poll(() => fake.socketMode.open).toBe(0);
    expect(received.at(-1)?.type).toBe('disconnect');
  });
});
