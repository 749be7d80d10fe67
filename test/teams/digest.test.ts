import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOCALES } from '../../src/content/schema.ts';
import { type DayRecord, newPatient, OUTCOMES } from '../../src/engine/state.ts';
import {
  digestText,
  type MemberWeeks,
  MIN_CONTRIBUTORS,
  memberWeeksOf,
  type TeamDigest,
  teamDigest,
} from '../../src/teams/digest.ts';
import { addDays } from '../../src/time/local.ts';
import { realContent } from '../support/content.ts';

const content = realContent();

const weeks = (
  sessions: number,
  sessionsLastWeek: number,
  pains: number[],
  painsLastWeek: number[],
): MemberWeeks => ({ sessions, sessionsLastWeek, pains, painsLastWeek });

/** Every number in a text, decimals included ("0.8" and the German "0,8"). */
const numbersIn = (text: string) =>
  (text.match(/\d+(?:[.,]\d+)?/g) ?? []).map((n) => Number(n.replace(',', '.')));

const idle = weeks(0, 0, [], []);

describe('teamDigest and digestText, by hand', () => {
  // Five contributors; F only trained last week and G did nothing: both count as members only.
  const team = [
    weeks(3, 2, [4, 4], [5, 5]), // change −1
    weeks(4, 3, [3], [4]), // −1
    weeks(3, 3, [2, 3], [3, 3]), // −0.5
    weeks(1, 2, [4, 5], [5]), // −0.5
    weeks(0, 0, [6, 5], [7, 6]), // −1, a contributor through check-ins alone
    weeks(0, 2, [], [4]),
    idle,
  ];

  it('shows the figures once five members contributed', () => {
    expect(teamDigest(team)).toEqual({
      kind: 'shown',
      participants: 7,
      contributors: 5,
      trainedThreeShare: 0.6,
      avgPainChange: -0.8,
      sessions: 11,
      sessionsLastWeek: 12,
    });
  });

  it('hides the figures with four contributors, however many members there are', () => {
    const four = [...team.slice(1), idle, idle];
    const digest = teamDigest(four);
    expect(digest).toEqual({ kind: 'hidden', participants: 8, contributors: 4 });
    for (const locale of LOCALES) {
      const text = digestText(content, locale, 'Platform team', digest);
      expect(text).toContain('Platform team');
      expect(numbersIn(text)).toEqual([MIN_CONTRIBUTORS]);
    }
  });

  it('counts a member who only trained as a contributor, yet leaves the pain change out under five', () => {
    const digest = teamDigest([...team.slice(0, 4), weeks(2, 0, [], [])]);
    expect(digest).toMatchObject({ kind: 'shown', contributors: 5, avgPainChange: null });
    expect(digestText(content, 'en', 'Platform team', digest)).toContain(
      'Change in back pain: not shown this week, as fewer than 5 people checked in both this week and last.',
    );
  });

  it('rounds the pain change to one decimal and never reports −0', () => {
    const digest = teamDigest([weeks(1, 1, [2, 2, 2, 2, 1], [2]), ...Array(4).fill(weeks(1, 1, [3], [3]))]);
    expect(digest).toMatchObject({ kind: 'shown', avgPainChange: 0 });
    expect(Object.is(digest.kind === 'shown' && digest.avgPainChange, 0)).toBe(true);
    expect(digestText(content, 'en', 'T', digest)).toContain(': 0.0 points');
  });

  it('renders the English digest', () => {
    expect(digestText(content, 'en', 'Platform team', teamDigest(team))).toBe(
      [
        'Backcoach weekly for Platform team',
        '7 people are taking part; 5 of them checked in or trained this week.',
        '60% of those active trained three times or more.',
        'Average change in back pain since last week: −0.8 points (a minus means less pain).',
        'Team challenge: together you did 11 sessions this week (12 last week). Busy weeks happen; a few minutes together next week is a great way back in.',
      ].join('\n'),
    );
  });

  it('renders the German digest with German number style', () => {
    const text = digestText(content, 'de', 'Plattform', teamDigest(team));
    expect(text).toContain('Backcoach-Wochenrückblick für Plattform');
    expect(text).toContain('60 % der Aktiven');
    expect(text).toContain('−0,8 Punkte');
    expect(text).toContain('11 Einheiten geschafft (letzte Woche 12)');
  });

  it('picks the challenge line by comparing the two weeks', () => {
    const base = {
      kind: 'shown',
      participants: 6,
      contributors: 5,
      trainedThreeShare: 0.2,
      avgPainChange: 0.5,
    } as const;
    const up: TeamDigest = { ...base, sessions: 9, sessionsLastWeek: 4 };
    const same: TeamDigest = { ...base, sessions: 1, sessionsLastWeek: 1 };
    expect(digestText(content, 'en', 'T', up)).toContain('together you did 9 sessions this week, up from 4');
    expect(digestText(content, 'en', 'T', up)).toContain('+0.5 points');
    expect(digestText(content, 'en', 'T', same)).toContain('together you did 1 session this week, just like');
    expect(digestText(content, 'de', 'T', same)).toContain('1 Einheit geschafft, genau wie letzte Woche');
    expect(digestText(content, 'de', 'T', up)).toContain('+0,5 Punkte');
  });
});

describe('memberWeeksOf', () => {
  const weekStart = '2026-03-02'; // a Monday

  it('reduces the reported week and the one before, ignoring every other day', () => {
    const state = newPatient('U1', 'en', 0);
    const days: DayRecord[] = [
      { date: '2026-02-22', outcome: 'done', pain: 9 }, // older: ignored
      { date: '2026-02-23', outcome: 'done', pain: 6 }, // last week's Monday
      { date: '2026-02-25', outcome: 'partly', pain: 5 },
      { date: '2026-03-01', outcome: 'skipped', pain: 7 }, // last week's Sunday
      { date: '2026-03-02', outcome: 'done', pain: 4 },
      { date: '2026-03-04', outcome: 'partly' },
      { date: '2026-03-05', outcome: 'skipped', pain: 3 },
      { date: '2026-03-07', pain: 2 }, // a check-in without a session outcome
      { date: '2026-03-08', outcome: 'done', pain: 3 }, // the reported week's Sunday
      { date: '2026-03-09', outcome: 'done', pain: 1 }, // the week after: ignored
    ];
    state.days.push(...days);
    expect(memberWeeksOf(state, weekStart)).toEqual({
      sessions: 3,
      sessionsLastWeek: 2,
      pains: [4, 3, 2, 3],
      painsLastWeek: [6, 5, 7],
    });
  });

  it('does not count skipped days as sessions', () => {
    const state = newPatient('U2', 'de', 0);
    state.days.push({ date: '2026-03-03', outcome: 'skipped' }, { date: '2026-02-24', outcome: 'skipped' });
    expect(memberWeeksOf(state, weekStart)).toEqual(idle);
  });

  it('gives nothing for a member without days', () => {
    expect(memberWeeksOf(newPatient('U3', 'en', 0), weekStart)).toEqual(idle);
  });

  it('refuses a week start that is not a Monday', () => {
    expect(() => memberWeeksOf(newPatient('U4', 'en', 0), '2026-03-03')).toThrow(/Monday/);
    expect(() => memberWeeksOf(newPatient('U4', 'en', 0), '2026-3-2')).toThrow(/Monday/);
  });
});

describe('digest privacy (property)', () => {
  const FIRST_MONDAY = '2026-01-05';
  /** The reported week, the one before, and one more week on either side that must be ignored. */
  const SPAN = 28;
  const hex = fc.constantFrom(...'0123456789ABCDEF');
  const lower = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz');

  const memberArb = fc.record({
    // Slack-like ids and names; they stay beside the member's weeks and are never given to the digest.
    id: fc.string({ unit: hex, minLength: 8, maxLength: 10 }).map((s) => `U${s}`),
    name: fc.string({ unit: lower, minLength: 3, maxLength: 8 }).map((s) => `name-${s}`),
    quietThisWeek: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    quietLastWeek: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    days: fc.array(
      fc.option(
        fc.record({
          outcome: fc.option(fc.constantFrom(...OUTCOMES), { nil: undefined }),
          pain: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
        }),
        { nil: undefined, freq: 2 },
      ),
      { minLength: SPAN, maxLength: SPAN },
    ),
  });

  const teamArb = fc.record({
    weekOffset: fc.integer({ min: 0, max: 150 }),
    locale: fc.constantFrom(...LOCALES),
    teamName: fc.constantFrom('Platform', 'Wellbeing crew', 'Ops & Care', 'Team Süd'),
    members: fc.array(memberArb, { minLength: 1, maxLength: 30 }),
  });

  it('shows only team aggregates and never a member’s id or name', () => {
    const seen = { hidden: 0, shown: 0, painChange: 0, painChangeHidden: 0 };
    fc.assert(
      fc.property(teamArb, ({ weekOffset, locale, teamName, members }) => {
        const weekStart = addDays(FIRST_MONDAY, 7 * weekOffset);
        const dates = Array.from({ length: SPAN }, (_, i) => addDays(weekStart, i - 14));
        const reduced = members.map((m) => {
          const state = newPatient(m.id, locale, 0);
          m.days.forEach((day, i) => {
            const quiet = (m.quietLastWeek && i >= 7 && i < 14) || (m.quietThisWeek && i >= 14 && i < 21);
            if (day && !quiet) state.days.push({ date: dates[i] as string, ...day });
          });
          return memberWeeksOf(state, weekStart);
        });

        const digest = teamDigest(reduced);
        const text = digestText(content, locale, teamName, digest);

        for (const m of members) {
          expect(text).not.toContain(m.id);
          expect(text).not.toContain(m.name);
        }
        const numbers = numbersIn(text);
        if (digest.contributors < MIN_CONTRIBUTORS) {
          expect(digest.kind).toBe('hidden');
          expect(numbers).toEqual([MIN_CONTRIBUTORS]);
          seen.hidden++;
          return;
        }
        expect(digest.kind).toBe('shown');
        if (digest.kind !== 'shown') return;
        const allowed = [
          digest.participants,
          digest.contributors,
          MIN_CONTRIBUTORS,
          Math.round(digest.trainedThreeShare * 100),
          digest.sessions,
          digest.sessionsLastWeek,
          ...(digest.avgPainChange === null ? [] : [Math.abs(digest.avgPainChange)]),
        ];
        for (const n of numbers) expect(allowed, `${n} in:\n${text}`).toContain(n);
        seen.shown++;
        if (digest.avgPainChange === null) seen.painChangeHidden++;
        else seen.painChange++;
      }),
      { numRuns: 300 },
    );
    // The property only means something if the random teams reach every branch.
    expect(seen.hidden).toBeGreaterThan(0);
    expect(seen.painChange).toBeGreaterThan(0);
    expect(seen.painChangeHidden).toBeGreaterThan(0);
  });
});
