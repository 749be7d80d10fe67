import { expect, vi } from 'vitest';
import type { PatientStore } from '../../src/runtime/store.ts';
import { journey, type TestClock } from './chat-journey.ts';
import type { FakeSlackApi, SlackRecordedCall, SocketEnvelopeType } from './fake-slack-api.ts';
import { blockAction, dmMessage, eventEnvelope, postSlack, type SlackRequestKind } from './slack-requests.ts';

/** How a person's events reach the app; by default, signed HTTP requests to its receiver. */
export type SlackTransport = (kind: SlackRequestKind, payload: object) => Promise<void>;

const ENVELOPE_TYPES: Record<SlackRequestKind, SocketEnvelopeType> = {
  event: 'events_api',
  interaction: 'interactive',
  command: 'slash_commands',
};

/** Through the fake's Socket Mode connection, each envelope acknowledged by the app. */
export const overSocketMode =
  (fake: FakeSlackApi): SlackTransport =>
  async (kind, payload) => {
    await fake.socketMode.deliver(ENVELOPE_TYPES[kind], payload);
  };

type Button = { value?: string; text?: { text?: string }; action_id?: string };
type Block = { type: string; elements?: Button[]; text?: { text?: string } };

export interface PostedMessage {
  ts: string;
  text: string;
  blocks: Block[];
  call: SlackRecordedCall;
}

const buttonsOf = (m: PostedMessage): Button[] =>
  m.blocks.flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []));

/**
 * A person in a Slack workspace talking to the app in a DM: signed events and interactions posted to
 * the real Bolt receiver (or sent over Socket Mode), and only what the app really posted to their DM
 * read back from the fake.
 */
export class SlackUser {
  constructor(
    private readonly fake: FakeSlackApi,
    private readonly url: () => string,
    private readonly secret: string,
    readonly teamId: string,
    readonly userId: string,
    private readonly transport?: SlackTransport,
  ) {}

  get channel(): string {
    return `D${this.userId}`;
  }

  /** Messages the app posted to this person's DM, in order. */
  posted(): PostedMessage[] {
    return this.fake
      .calls('chat.postMessage')
      .filter((c) => c.payload.channel === this.channel)
      .map((call) => ({
        ts: String(call.response.ts),
        text: String(call.payload.text ?? ''),
        blocks: (call.payload.blocks as Block[] | undefined) ?? [],
        call,
      }));
  }

  lastText(): string | undefined {
    return this.posted().at(-1)?.text;
  }

  texts(): string[] {
    return this.posted().map((m) => m.text);
  }

  updates(): SlackRecordedCall[] {
    return this.fake.calls('chat.update').filter((c) => c.payload.channel === this.channel);
  }

  messageWithButton(value: string | number): PostedMessage {
    const found = this.posted()
      .reverse()
      .find((m) => buttonsOf(m).some((b) => b.value?.endsWith(`:${value}`)));
    if (!found) throw new Error(`no message in ${this.channel} has a button ${value}`);
    return found;
  }

  /** Does something and waits for the app's answer: a new question, or a message matching `until`. */
  async act(action: () => Promise<void>, until?: RegExp): Promise<PostedMessage[]> {
    const before = this.posted().length;
    await action();
    let fresh: PostedMessage[] = [];
    await vi.waitFor(
      () => {
        fresh = this.posted().slice(before);
        const done = until
          ? fresh.some((m) => until.test(m.text))
          : fresh.some((m) => buttonsOf(m).length > 0);
        expect(done, `${this.channel} waited for ${until ?? 'a question'}`).toBe(true);
      },
      { timeout: 15_000, interval: 20 },
    );
    return fresh;
  }

  async post(kind: 'event' | 'interaction' | 'command', payload: object, opts = {}): Promise<Response> {
    return postSlack(this.url(), this.secret, kind, payload, opts);
  }

  async send(kind: SlackRequestKind, payload: object): Promise<void> {
    if (this.transport) return this.transport(kind, payload);
    const res = await this.post(kind, payload);
    expect(res.status).toBe(200);
  }

  dmEnvelope(text: string, eventId?: string) {
    return eventEnvelope({
      teamId: this.teamId,
      ...(eventId ? { eventId } : {}),
      event: dmMessage({ user: this.userId, text }),
    });
  }

  say(text: string, until?: RegExp): Promise<PostedMessage[]> {
    return this.act(() => this.send('event', this.dmEnvelope(text)), until);
  }

  tapPayload(message: PostedMessage, value: string | number) {
    const button = buttonsOf(message).find((b) => b.value?.endsWith(`:${value}`));
    if (!button?.value) throw new Error(`message ${message.ts} has no button ${value}`);
    const payload = blockAction({
      teamId: this.teamId,
      user: this.userId,
      channel: this.channel,
      messageTs: message.ts,
      actionId: button.action_id ?? 'bc:0:0',
      value: button.value,
      text: message.text,
    }) as { actions: { text: { text: string } }[] };
    // The button's own label, as Slack sends it.
    const first = payload.actions[0];
    if (first) first.text.text = button.text?.text ?? String(value);
    return payload;
  }

  tap(value: string | number, until?: RegExp): Promise<PostedMessage[]> {
    return this.act(
      () => this.send('interaction', this.tapPayload(this.messageWithButton(value), value)),
      until,
    );
  }
}

/**
 * The standard journey (`journey`) in a person's DM, from their first "hello": what it must leave in
 * their state, every post made with the workspace's `token`.
 */
export async function dmJourney(
  user: SlackUser,
  clock: TestClock,
  store: PatientStore,
  token: string,
): Promise<void> {
  await journey(user, clock, 'hello');
  const state = await store.load(`sl:${user.teamId}:${user.userId}`);
  expect(state?.days.map((d) => d.decision)).toEqual(['hold', 'hold', 'breakthrough', 'setback']);
  expect(state?.schedule.timezone).toBe('Europe/Berlin');
  expect(new Set(user.posted().map((m) => m.call.token))).toEqual(new Set([token]));
}
