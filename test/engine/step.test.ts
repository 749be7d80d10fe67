import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/engine/events.ts';
import { step } from '../../src/engine/step.ts';
import { realContent } from '../support/content.ts';
import { SimPatient } from '../support/patient.ts';

const content = realContent();
const patient = (opts: ConstructorParameters<typeof SimPatient>[1] = {}) => new SimPatient(content, opts);

describe('onboarding', () => {
  it('walks from /start to an active patient with a schedule', () => {
    const p = patient().onboard();
    expect(p.state?.status).toBe('active');
    expect(p.state?.profile.riskGroup).toBe('low');
    expect(p.state?.profile.deficits).toEqual([]);
    expect(p.state?.schedule).toMatchObject({ timezone: 'Europe/Berlin', drillTime: '08:00' });
    const schedules = p.effects.filter((e) => e.type === 'schedule');
    expect(schedules.at(-1)).toEqual({ type: 'schedule', schedule: p.state?.schedule });
    expect(p.lastText()).toContain('08:00');
  });

  it('keeps a coach code and asks the shell to put the patient on that coach’s roster', () => {
    const p = patient();
    expect(p.command('start', 'COACH-7')).toContainEqual({ type: 'join_coach', code: 'COACH-7' });
    expect(p.state?.coachCode).toBe('COACH-7');
    // No code, or one that cannot be a code: nobody to join.
    expect(p.command('start').filter((e) => e.type === 'join_coach')).toEqual([]);
    expect(p.command('start', 'no such code!').filter((e) => e.type === 'join_coach')).toEqual([]);
  });

  it('asks for consent first and stores nothing but the refusal when refused', () => {
    const p = patient();
    p.command('start');
    p.expectAsk('consent');
    p.tap('no');
    expect(p.state?.status).toBe('declined');
    expect(p.state?.profile).toEqual({ startBack: [], deficits: [], redFlags: [] });
    expect(p.state?.ask).toBeNull();
    // Anything typed afterwards offers the start again rather than collecting data.
    p.text('hello');
    p.expectAsk('consent');
  });

  it('turns screen answers into deficits and gentle starting levels', () => {
    const p = patient().onboard({
      sideLeft: 0,
      sideRight: 2,
      stance: 0,
      slBridgeOk: false,
      kneeChestThighLifts: true,
      kneeFalloutRocks: true,
    });
    expect(new Set(p.state?.profile.deficits)).toEqual(
      new Set(['deep_core', 'extensors', 'lateral_core', 'glutes', 'hip_flexor_mobility', 'balance']),
    );
    for (const ladder of Object.values(p.state?.levels ?? {})) expect(ladder?.level).toBe(1);
  });

  it('scores STarT Back high from the psychosocial items', () => {
    const p = patient().onboard({ startBack: [0, 0, 0, 0, 1, 1, 1, 1, 4] });
    expect(p.state?.profile.riskGroup).toBe('high');
  });

  it('understands typed answers and re-prompts kindly on nonsense', () => {
    const p = patient();
    p.command('start');
    p.text('yes');
    for (let i = 0; i < 3; i++) p.text('no');
    p.text('20–39');
    for (let i = 0; i < 7; i++) p.text('nein');
    p.expectAsk('baseline');
    const seq = p.state?.ask?.seq;
    p.text('banana');
    expect(p.lastText()).toBe(p.messages().at(-1)?.text);
    expect(p.allText(p.effects.slice(-2))).toContain('0 to 10');
    expect(p.state?.ask?.q).toBe('baseline');
    expect(p.state?.ask?.seq).toBe(seq);
    p.text('pain six');
    expect(p.state?.profile.baselinePain).toBe(6);
  });

  it('accepts a typed drill time and a city as timezone', () => {
    const p = patient();
    p.onboard();
    p.command('settings');
    p.tap('drill_time');
    p.text('7:30');
    p.command('settings');
    p.tap('timezone');
    p.text('new york');
    expect(p.state?.schedule).toMatchObject({ drillTime: '07:30', timezone: 'America/New_York' });
    expect(p.effects.at(-2)).toMatchObject({ type: 'schedule', schedule: { timezone: 'America/New_York' } });
  });

  it('refuses a drill time inside quiet hours', () => {
    const p = patient();
    p.onboard();
    p.command('settings');
    p.tap('drill_time');
    p.text('23:00');
    expect(p.state?.schedule.drillTime).toBe('08:00');
    p.expectAsk('drill_time');
  });

  it('speaks German when the platform says so', () => {
    const p = patient({ locale: 'de' }).onboard();
    expect(p.state?.locale).toBe('de');
    p.advanceTo();
    p.timer('drills_due');
    expect(p.allText()).toMatch(/Sitzung|Übung/);
  });
});

describe('red flags', () => {
  it('stops at an emergency item, alerts the coach and pushes nothing afterwards', () => {
    const p = patient();
    p.command('start');
    p.tap('yes');
    const effects = p.tap('yes');
    expect(p.state?.status).toBe('escalated');
    expect(effects).toContainEqual(
      expect.objectContaining({ type: 'alert_coach', alert: 'emergency_red_flag' }),
    );
    expect(effects).toContainEqual({ type: 'schedule', schedule: null });
    expect(p.allText(effects)).toMatch(/emergency/i);
    p.advanceTo('08:00');
    expect(p.timer('drills_due')).toEqual([]);
    p.command('today');
    expect(p.lastText()).toMatch(/paused for your safety/);
    // An old button tapped now changes nothing and gets the same safety message.
    p.send({ kind: 'choice', seq: 1, value: 'yes' });
    expect(p.state?.status).toBe('escalated');
    expect(p.lastText()).toMatch(/paused for your safety/);
  });

  it('pauses on a clinician item until a coach clears, then continues onboarding', () => {
    const p = patient();
    p.command('start');
    p.tap('yes');
    for (let i = 0; i < 3; i++) p.tap('no');
    p.tap('40_50');
    p.tap('no');
    p.tap('yes'); // history of cancer
    for (let i = 0; i < 5; i++) p.tap('no');
    expect(p.state?.status).toBe('clinician_hold');
    expect(p.effects).toContainEqual(
      expect.objectContaining({ type: 'alert_coach', alert: 'clinician_red_flag' }),
    );
    p.send({ kind: 'coach', coachId: 'c1', command: { action: 'clear' } });
    expect(p.state?.status).toBe('onboarding');
    p.expectAsk('baseline');
  });

  it('counts new pain as a clinician flag only under 20 or over 50', () => {
    const young = patient();
    young.onboard({ age: '40_50', clinician: ['no', 'no', 'no', 'no', 'no', 'no', 'yes'] });
    expect(young.state?.status).toBe('active');
    const older = patient();
    expect(() =>
      older.onboard({ age: '51_59', clinician: ['no', 'no', 'no', 'no', 'no', 'no', 'yes'] }),
    ).toThrow(/expected question baseline/);
    expect(older.state?.status).toBe('clinician_hold');
    expect(older.state?.profile.redFlags).toEqual(['new_pain']);
  });

  it('asks the emergency questions again when free text mentions a symptom, then resumes', () => {
    const p = patient().onboard();
    p.command('checkin');
    p.expectAsk('pain');
    p.text('I have trouble holding my bladder since yesterday');
    p.expectAsk('recheck');
    p.tap('no');
    p.tap('no');
    p.tap('no');
    p.expectAsk('pain');
  });

  it('re-screens the emergency items once a week before the drills', () => {
    const p = patient().onboard();
    for (let d = 0; d < 7; d++) p.day({ outcome: 'done', pain: 3 });
    expect(p.state?.days.filter((d) => d.session)).toHaveLength(7);
    p.advanceTo();
    p.timer('drills_due');
    p.expectAsk('recheck');
    p.tap('no');
    p.tap('no');
    p.tap('no');
    p.expectAsk('outcome');
  });
});

describe('the day', () => {
  it('pushes one session a day at most, however often the timer fires', () => {
    const p = patient().onboard();
    p.advanceTo();
    const first = p.timer('drills_due');
    expect(p.messages(first).length).toBeGreaterThan(0);
    expect(p.timer('drills_due')).toEqual([]);
    p.command('today');
    expect(p.state?.days.filter((d) => d.session)).toHaveLength(1);
  });

  it('holds drills during quiet hours and on vacation', () => {
    const p = patient().onboard();
    p.advanceTo('23:00');
    expect(p.timer('drills_due')).toEqual([]);
    p.command('vacation');
    p.tap('7');
    expect(p.state?.vacationUntil).not.toBeNull();
    p.advanceTo('08:00');
    expect(p.timer('drills_due')).toEqual([]);
  });

  it('snoozes for an hour without changing the schedule, then brings the session back', () => {
    const p = patient().onboard();
    p.advanceTo();
    p.timer('drills_due');
    const effects = p.tap('snooze');
    expect(effects).toContainEqual({ type: 'wake_at', at: p.now + 3_600_000, timer: 'snooze_due' });
    expect(effects.some((e) => e.type === 'schedule')).toBe(false);
    p.now += 3_600_000;
    p.timer('snooze_due');
    p.expectAsk('outcome');
  });

  it('reminds once in the evening when the check-in is missing, never in quiet hours', () => {
    const p = patient().onboard();
    p.advanceTo();
    p.timer('drills_due');
    p.advanceTo('20:00');
    expect(p.messages(p.timer('checkin_reminder')).length).toBeGreaterThan(0);
    expect(p.timer('checkin_reminder')).toEqual([]);
    const q = patient().onboard({ quiet: '19:00-07:00', drillTime: '08:00' });
    q.advanceTo();
    q.timer('drills_due');
    q.advanceTo('20:00');
    expect(q.timer('checkin_reminder')).toEqual([]);
  });

  it('offers a five-minute session after two skipped days', () => {
    const p = patient().onboard();
    p.day({ outcome: 'skipped', pain: 4 });
    p.day({ outcome: 'skipped', pain: 4 });
    p.advanceTo();
    p.timer('drills_due');
    const today = p.state?.days.at(-1);
    expect(today?.session?.minimal).toBe(true);
    expect(today?.session?.drills.map((d) => d.ladder)).toEqual(['deep_core', 'extensors', 'lateral_core']);
  });

  it('nudges after three silent days and alerts the coach after seven', () => {
    const p = patient().onboard();
    const alerts = () => p.effects.filter((e) => e.type === 'alert_coach' && e.alert === 'silent');
    let nudged = false;
    for (let d = 1; d <= 8; d++) {
      p.advanceTo();
      const text = p.allText(p.timer('drills_due'));
      if (p.state?.ask?.q === 'recheck') {
        // silent patients do not answer: the pending question just stays
      }
      if (/Haven’t heard from you/.test(text)) nudged = true;
    }
    expect(nudged).toBe(true);
    expect(alerts()).toHaveLength(1);
  });

  it('records a whole check-in and names the data behind the decision', () => {
    const p = patient().onboard();
    const effects = p.day({ outcome: 'done', pain: 3, difficulty: 'about_right', painDuring: 'mild' });
    const today = p.state?.days.at(-1);
    expect(today).toMatchObject({
      outcome: 'done',
      pain: 3,
      difficulty: 'about_right',
      painDuring: 'mild',
      decision: 'hold',
    });
    expect(p.allText(effects)).toContain('pain 3 today');
    expect(p.allText(effects)).toContain('baseline: 4');
  });
});

describe('setback and breakthrough through the engine', () => {
  it('regresses the trained ladders on a setback, with a reason and a kind word', () => {
    const p = patient().onboard();
    const before = p.level('extensors');
    const effects = p.day({ outcome: 'done', pain: 7, painDuring: 'moderate' });
    const trained = p.state?.days.at(-1)?.session?.drills.map((d) => d.ladder) ?? [];
    expect(trained).toContain('extensors');
    expect(p.level('extensors')).toBe((before ?? 2) - 1);
    expect(p.state?.days.at(-1)?.decision).toBe('setback');
    const text = p.allText(effects);
    expect(text).toContain('pain 7 today');
    expect(text).toMatch(/Back extensors back to level 1/);
    expect(text).toMatch(/not a straight line/);
    expect(p.state?.levelChanges.at(-1)).toMatchObject({ ladder: expect.any(String), by: 'progression' });
  });

  it('progresses after three good sessions rated too easy', () => {
    const p = patient().onboard();
    const before = p.level('deep_core') ?? 0;
    p.day({ outcome: 'done', pain: 3, difficulty: 'too_easy' });
    p.day({ outcome: 'done', pain: 3, difficulty: 'too_easy' });
    expect(p.level('deep_core')).toBe(before);
    const effects = p.day({ outcome: 'done', pain: 2, difficulty: 'too_easy' });
    expect(p.state?.days.at(-1)?.decision).toBe('breakthrough');
    expect(p.level('deep_core')).toBe(before + 1);
    expect(p.allText(effects)).toMatch(/3 good sessions in a row/);
  });

  it('alerts the coach on pain 8 and on three setbacks in a week', () => {
    const p = patient().onboard();
    const first = p.day({ outcome: 'done', pain: 8 });
    expect(first).toContainEqual(expect.objectContaining({ type: 'alert_coach', alert: 'pain_high' }));
    p.day({ outcome: 'skipped', pain: 7 });
    const third = p.day({ outcome: 'done', pain: 7 });
    expect(third).toContainEqual(expect.objectContaining({ type: 'alert_coach', alert: 'setbacks' }));
  });

  it('lets a coach set and lock a level, audited, and progression leaves it alone', () => {
    const p = patient().onboard();
    const effects = p.send({
      kind: 'coach',
      coachId: 'coach-7',
      command: { action: 'set_level', ladder: 'deep_core', level: 3, lock: true },
    });
    expect(p.level('deep_core')).toBe(3);
    expect(effects).toContainEqual(
      expect.objectContaining({
        type: 'audit',
        entry: expect.objectContaining({
          kind: 'coach',
          detail: expect.objectContaining({ coachId: 'coach-7' }),
        }),
      }),
    );
    p.now += 4 * 86_400_000;
    p.day({ outcome: 'done', pain: 9 });
    expect(p.level('deep_core')).toBe(3);
  });
});

describe('commands and stale input', () => {
  it('refuses an old button and shows the current question again', () => {
    const p = patient();
    p.command('start');
    const oldSeq = p.state?.ask?.seq ?? 0;
    p.tap('yes');
    const effects = p.send({ kind: 'choice', seq: oldSeq, value: 'no' });
    expect(p.state?.status).toBe('onboarding');
    expect(p.allText(effects)).toMatch(/already been answered/);
    p.expectAsk('emergency');
  });

  it('deletes after a confirmation only', () => {
    const p = patient().onboard();
    p.command('delete');
    p.tap('no');
    expect(p.state).not.toBeNull();
    p.command('delete');
    const effects = p.tap('yes');
    expect(effects).toContainEqual({ type: 'delete' });
    expect(p.state).toBeNull();
  });

  it('pauses and resumes the pushes', () => {
    const p = patient().onboard();
    expect(p.command('pause')).toContainEqual({ type: 'schedule', schedule: null });
    p.advanceTo();
    expect(p.timer('drills_due')).toEqual([]);
    expect(p.command('resume')).toContainEqual({ type: 'schedule', schedule: p.state?.schedule });
    expect(p.state?.status).toBe('active');
  });

  it('answers every command in every status without throwing', () => {
    const commands = [...COMMANDS, 'nonsense'];
    for (const setup of [
      (p: SimPatient) => p,
      (p: SimPatient) => p.onboard(),
      (p: SimPatient) => {
        p.command('start');
        p.tap('no');
        return p;
      },
    ]) {
      for (const command of commands) {
        const p = setup(patient());
        const effects = p.command(command);
        expect(p.messages(effects).length, `/${command}`).toBeGreaterThan(0);
      }
    }
  });

  it('is pure: the same input gives the same output and the input state is untouched', () => {
    const p = patient().onboard();
    const frozen = structuredClone(p.state);
    const event = { id: 'x', patientId: p.id, kind: 'command', command: 'today', args: '' } as const;
    const a = step(p.state, event, p.now, content);
    const b = step(p.state, event, p.now, content);
    expect(a).toEqual(b);
    expect(p.state).toEqual(frozen);
  });

  it('shows progress with levels and the week', () => {
    const p = patient().onboard();
    p.day({ outcome: 'done', pain: 3 });
    p.command('progress');
    expect(p.lastText()).toMatch(/Deep core: level \d of 4/);
    expect(p.lastText()).toMatch(/Average pain this week: 3/);
  });
});

describe('language', () => {
  it('asks for the language first when the platform does not say, then welcomes in it', () => {
    const p = patient();
    p.send({ kind: 'command', command: 'start', args: '', localeHint: undefined });
    p.expectAsk('language');
    p.tap('de');
    expect(p.state?.locale).toBe('de');
    p.expectAsk('consent');
    expect(p.allText()).toMatch(/Backcoach/);
    expect(
      p
        .messages()
        .at(-1)
        ?.choices?.flat()
        .map((c) => c.value),
    ).toEqual(['yes', 'no']);
  });

  it('changes language from /settings', () => {
    const p = patient().onboard();
    p.command('settings');
    p.tap('language');
    p.tap('de');
    expect(p.state?.locale).toBe('de');
    expect(p.lastText()).toMatch(/Deutsch/);
  });
});

describe('timers delivered late', () => {
  it('catches up a missed push on the same local day, never on a later one', () => {
    const p = patient().onboard();
    p.advanceTo('08:00');
    const date = p.state?.days.length === 0 ? new Date(p.now).toISOString().slice(0, 10) : '';
    p.advanceTo('11:00');
    expect(p.messages(p.send({ kind: 'timer', timer: 'drills_due', date })).length).toBeGreaterThan(0);
    const q = patient().onboard();
    q.advanceTo('08:00');
    const yesterday = new Date(q.now).toISOString().slice(0, 10);
    q.advanceTo('09:00');
    q.now += 86_400_000;
    expect(q.send({ kind: 'timer', timer: 'drills_due', date: yesterday })).toEqual([]);
  });
});

describe('reachability', () => {
  it('stops pushes when the platform says the patient blocked us, and restarts them when they write', () => {
    const p = patient().onboard();
    const blocked = p.send({ kind: 'reachability', reachable: false });
    expect(p.state?.unreachableSince).toBe('2026-03-02');
    expect(p.state?.status).toBe('active');
    expect(blocked).toContainEqual({ type: 'schedule', schedule: null });
    expect(blocked.filter((e) => e.type === 'send')).toEqual([]);

    p.advanceTo();
    expect(p.timer('drills_due')).toEqual([]);
    expect(p.send({ kind: 'reachability', reachable: false })).toEqual([]);

    const back = p.command('today');
    expect(p.state?.unreachableSince).toBeUndefined();
    expect(back).toContainEqual({ type: 'schedule', schedule: p.state?.schedule });
    expect(p.allText(back)).toContain('Today’s session');
  });

  it('restores pushes on the platform’s word alone, and ignores it for a patient never seen', () => {
    const p = patient().onboard();
    p.send({ kind: 'reachability', reachable: false });
    expect(p.send({ kind: 'reachability', reachable: true })).toContainEqual({
      type: 'schedule',
      schedule: p.state?.schedule,
    });
    const stranger = patient({ id: 'sim:2' });
    expect(stranger.send({ kind: 'reachability', reachable: false })).toEqual([]);
    expect(stranger.state).toBeNull();
  });

  it('keeps a paused patient’s pushes off when they become reachable again', () => {
    const p = patient().onboard();
    p.command('pause');
    p.send({ kind: 'reachability', reachable: false });
    expect(p.send({ kind: 'reachability', reachable: true })).toContainEqual({
      type: 'schedule',
      schedule: null,
    });
  });
});

describe('old buttons', () => {
  it('says a question was already answered when a tap arrives with nothing pending', () => {
    const p = patient().onboard();
    p.day({ outcome: 'done', pain: 3 });
    expect(p.state?.ask).toBeNull();
    const before = p.state;
    const reply = p.send({ kind: 'choice', seq: 3, value: 'yes' });
    expect(p.allText(reply)).toBe(
      'That question has already been answered. Send /help to see what I can do.',
    );
    expect({ ...p.state, lastHeardOn: null }).toEqual({ ...before, lastHeardOn: null });
  });
});

describe('platform profile', () => {
  it('moves the drills to a new timezone from the profile, keeping the wall times', () => {
    const p = patient().onboard();
    const effects = p.send({ kind: 'profile', timezone: 'America/New_York' });
    expect(p.state?.schedule).toMatchObject({ timezone: 'America/New_York', drillTime: '08:00' });
    expect(effects).toContainEqual({ type: 'schedule', schedule: p.state?.schedule });
    expect(p.allText(effects)).toContain('America/New_York');
    expect(p.send({ kind: 'profile', timezone: 'America/New_York' })).toEqual([]);
    expect(p.send({ kind: 'profile', timezone: 'Mars/Olympus' })).toEqual([]);
  });

  it('leaves someone not yet set up, or never seen, alone', () => {
    const p = patient();
    p.command('start');
    expect(p.send({ kind: 'profile', timezone: 'Asia/Tokyo' })).toEqual([]);
    const stranger = patient({ id: 'sim:3' });
    expect(stranger.send({ kind: 'profile', timezone: 'Asia/Tokyo' })).toEqual([]);
    expect(stranger.state).toBeNull();
  });
});

describe('the weekly summary', () => {
  it('comes with Monday’s push, about the week before, with a chart of the last weeks', () => {
    // 2026-03-02 is a Monday: onboard, then a week of days, then the next Monday's push.
    const p = patient().onboard();
    for (let d = 0; d < 7; d++) p.day({ outcome: 'done', pain: 3 });
    const monday = p.state?.days.at(-1)?.date;
    expect(monday).toBe('2026-03-08');
    p.advanceTo();
    const push = p.timer('drills_due');
    const summary = p.messages(push).find((m) => m.chart !== undefined);
    expect(summary?.text).toContain('3');
    expect(summary?.chart).toMatchObject({ kind: 'pain', labels: { title: 'Your pain and sessions' } });
    expect(summary?.chart?.kind === 'pain' && summary.chart.points.map((pt) => pt.date)).toContain(
      '2026-03-08',
    );
    // Other days' pushes have none.
    if (p.state?.ask?.q === 'recheck') for (let i = 0; i < 3; i++) p.answer('recheck', 'no');
    p.answer('outcome', 'done');
    p.advanceTo();
    expect(p.messages(p.timer('drills_due')).some((m) => m.chart)).toBe(false);
  });
});

describe('the state it is given', () => {
  it('is left as it was unless handed over, and the step is the same either way', () => {
    const p = patient().onboard();
    p.advanceTo();
    const given = p.state;
    if (!given) throw new Error('onboarding left no state');
    const before = structuredClone(given);
    const event = { id: 'd1', patientId: p.id, kind: 'timer', timer: 'drills_due' } as const;

    const copied = step(given, event, p.now, content);
    expect(given).toEqual(before);
    expect(copied.state).not.toBe(given);

    const handedOver = step(given, event, p.now, content, { owned: true });
    // The store reads a state afresh for each step, so the engine changes that one, sparing a copy.
    expect(handedOver.state).toBe(given);
    expect(handedOver).toEqual(copied);
  });
});
