import { expect, vi } from 'vitest';
import type { FakeSlackApi, SlackRecordedCall } from './fake-slack-api.ts';
import { blockAction, dmMessage, eventEnvelope, postSlack } from './slack-requests.ts';

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
 * the real Bolt receiver, and only what the app really posted to their DM read back from the fake.
 */
export class SlackUser {
  constructor(
    private readonly fake: FakeSlackApi,
    private readonly url: () => string,
    private readonly secret: string,
    readonly teamId: string,
    readonly userId: string,
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

  async send(kind: 'event' | 'interaction' | 'command', payload: object): Promise<void> {
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
