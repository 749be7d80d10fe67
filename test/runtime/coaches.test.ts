import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Service } from '../../src/runtime/service.ts';
import type { PatientStore } from '../../src/runtime/store.ts';
import { onboard, TestClock } from '../support/chat-journey.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { type FakeSlackApi, startFakeSlackApi } from '../support/fake-slack-api.ts';
import { useRedis } from '../support/redis.ts';
import { startTestService } from '../support/service.ts';
import { SlackUser } from '../support/slack-user.ts';
import { TelegramUser, viaPolling } from '../support/telegram-user.ts';

const redisFixture = useRedis();
const TG_TOKEN = '4714:coaches-test';
const SLACK_TOKEN = 'xoxb-coaches';
const SECRET = 'coaches-signing-secret';
// Monday 2026-09-07, 07:00 in Berlin.
const clock = new TestClock(Date.parse('2026-09-07T05:00:00Z'));
let tg: FakeBotApi;
let slack: FakeSlackApi;
let service: Service;
let store: PatientStore;

const slackUrl = () => `http://127.0.0.1:${service.slackPort}/slack/events`;
const tgUser = (chat: number) => new TelegramUser(tg, chat, viaPolling(tg));
const slackUser = (id: string) => new SlackUser(slack, slackUrl, SECRET, 'T1', id);
const tgCoach = () => tgUser(900);
const slackCoach = () => slackUser('UCOACH');

beforeAll(async () => {
  tg = await startFakeBotApi({ token: TG_TOKEN });
  slack = await startFakeSlackApi({ tokens: { [SLACK_TOKEN]: 'T1' } });
  for (const id of ['UCOACH', 'U5']) slack.setUser(id, { tz: 'Europe/Berlin', locale: 'en-US' });
  ({ service, store } = await startTestService(
    redisFixture,
    {
      TELEGRAM_BOT_TOKEN: TG_TOKEN,
      TELEGRAM_API_ROOT: tg.apiRoot,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_PORT: '0',
      COACHES: 'tg:900@Europe/Berlin,sl:T1:UCOACH@Europe/Berlin',
    },
    clock.read,
  ));
});

afterAll(async () => {
  await service?.stop();
  await tg?.stop();
  await slack?.stop();
});

/** A patient's day once the clock is at drill time: wait for their push, report by taps. */
async function reportDay(user: TelegramUser | SlackUser, pain: number) {
  await vi.waitFor(() => expect(user.texts().some((t) => /Today’s session/.test(t ?? ''))).toBe(true), {
    timeout: 15_000,
  });
  await user.tap('done');
  await user.tap(pain);
  await user.tap('about_right');
  await user.tap(pain >= 8 ? 'moderate' : 'none', /Thanks for checking in/);
}

let codeA = '';
let codeB = '';

describe('coaches: rosters, alerts, the weekly digest, and only their own patients', () => {
  it('gives each coach an invite: a deep link on Telegram, a typed code on Slack', async () => {
    const a = await tgCoach().say('/coach code', /invite code/);
    const link = /https:\/\/t\.me\/backcoach_test_bot\?start=(\S+)/.exec(a.at(-1)?.text ?? '');
    codeA = link?.[1] ?? '';
    expect(codeA).toMatch(/^c[a-z0-9]{10}$/);
    const b = await slackCoach().say('coach code', /invite code/);
    codeB = /“start (\S+)”/.exec(b.at(-1)?.text ?? '')?.[1] ?? '';
    expect(codeB).toMatch(/^c[a-z0-9]{10}$/);
    expect(codeB).not.toBe(codeA);
  });

  it('tells the coach of a red flag at once, through the outbox', async () => {
    const p1 = tgUser(1001);
    await p1.say(`/start ${codeA}`);
    await p1.tap('yes');
    await p1.tap('yes', /emergency/);
    await vi.waitFor(
      () =>
        expect(
          tgCoach()
            .texts()
            .some((t) => /⚠ #1: emergency red flag/.test(t ?? '')),
        ).toBe(true),
      {
        timeout: 10_000,
      },
    );
    expect((await store.load('tg:1001'))?.status).toBe('escalated');
  });

  it('sends each coach a Monday digest with the patients who need attention first', async () => {
    const p2 = tgUser(1002);
    const p3 = tgUser(1003);
    const u5 = slackUser('U5');
    await onboard(p2, `/start ${codeA}`);
    await onboard(p3, `/start ${codeA}`);
    await onboard(u5, `start ${codeB}`);
    clock.nextDrillTime(); // Monday 08:00
    await reportDay(p2, 8);
    await reportDay(p3, 3);
    await reportDay(u5, 2);
    await vi.waitFor(() =>
      expect(
        tgCoach()
          .texts()
          .some((t) => /⚠ #2: high pain/.test(t ?? '')),
      ).toBe(true),
    );

    // A week later, Monday 09:00 in Berlin: the weekly job runs.
    clock.now = Date.parse('2026-09-14T07:00:00Z');
    expect(await service.runCoachDigests()).toBe(2);
    // This test's digest is the one of the week of Sep 7, whatever else the coach was sent.
    const digestsA = () =>
      tg
        .messages()
        .filter(
          (m) => m.chatId === '900' && m.method === 'sendPhoto' && /week of Sep 7, 2026/.test(m.text ?? ''),
        );
    await vi.waitFor(() => expect(digestsA()).not.toHaveLength(0), { timeout: 15_000 });
    const digestA = digestsA()[0]?.text ?? '';
    // #1 red flag, then #2 pain 8, then #3: the order of the attention rules.
    const order = ['#1', '#2', '#3'].map((label) => digestA.indexOf(label));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(digestA).not.toMatch(/tg:|1001|1002|U5/);

    await vi.waitFor(() =>
      expect(
        slackCoach()
          .texts()
          .some((t) => /Weekly patient digest/.test(t) && /#1/.test(t)),
      ).toBe(true),
    );
    expect(slack.uploads().some((f) => f.channel === 'DUCOACH' && f.filename === 'chart.png')).toBe(true);
    // Running again the same Monday sends nothing twice.
    expect(await service.runCoachDigests()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(digestsA()).toHaveLength(1);
  });

  it('lets a coach see and act on their own patients only', async () => {
    const b = slackCoach();
    const reply = await b.say('coach week 2', /#2/);
    expect(reply.at(-1)?.text).toMatch(/no #2 on your roster/);
    await b.say('coach clear 1', /#1: cleared/);
    expect((await store.load('tg:1001'))?.status).toBe('escalated');

    await tgCoach().say('/coach clear 1', /#1: cleared/);
    const p1 = await store.load('tg:1001');
    expect(p1?.status).not.toBe('escalated');
    const audit = await store.auditLog('tg:1001');
    expect(audit.find((e) => e.kind === 'coach')?.detail).toMatchObject({
      coachId: 'tg:900',
      action: 'clear',
    });

    const week = await tgCoach().say('/coach week 2', /#2/);
    expect(week.at(-1)?.text).toMatch(/8/);
  });

  it('exports the roster’s check-ins as CSV, by roster number only', async () => {
    await tgCoach().say('/coach export', /exported/);
    await vi.waitFor(() =>
      expect(tg.calls('sendDocument').some((c) => c.payload.chat_id === '900')).toBe(true),
    );
    const csv = tg.calls('sendDocument').find((c) => c.payload.chat_id === '900')?.document?.text ?? '';
    expect(csv.split('\n')[0]).toBe('patient,date,pain,session,difficulty,pain_during,decision');
    expect(csv).toContain('#2,2026-09-07,8,done');
    expect(csv).not.toMatch(/tg:|1002/);
  });

  it('treats /coach from someone who is not a coach as an unknown command', async () => {
    const reply = await tgUser(1003).say('/coach patients', /don’t know/);
    expect(reply.at(-1)?.text).not.toMatch(/roster/);
  });
});
