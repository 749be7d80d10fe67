import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ATTENTION,
  type AttentionReason,
  attentionOf,
  coachDigestText,
  type DigestRow,
  digestLine,
  orderDigest,
  summaryText,
  type WeeklySummary,
  weeklySummary,
} from '../../src/coach/summary.ts';
import { ladderOf } from '../../src/content/content.ts';
import { type LadderId, LOCALES, type Locale } from '../../src/content/schema.ts';
import {
  type DayRecord,
  type LevelChange,
  newPatient,
  OUTCOMES,
  type PatientState,
  type SessionPlan,
} from '../../src/engine/state.ts';
import { addDays } from '../../src/time/local.ts';
import { realContent } from '../support/content.ts';

const content = realContent();
const ladderName = (locale: Locale) => (id: string) => ladderOf(content, id as LadderId).name[locale];

/** Monday 2 March 2026; the week runs to Sunday 8 March, and the summary goes out the Monday after. */
const WEEK = '2026-03-02';
const NEXT_MONDAY = '2026-03-09';
const d = (n: number) => addDays(WEEK, n);

const PLAN: SessionPlan = { drills: [{ ladder: 'deep_core', level: 1 }], minimal: false };

/** A day whose drills were pushed, with what the patient answered. */
const pushed = (date: string, answer: Partial<DayRecord> = {}): DayRecord => ({
  date,
  session: PLAN,
  pushedAt: Date.parse(`${date}T08:00:00Z`),
  ...answer,
});

function patient(
  id: string,
  days: DayRecord[],
  setup: Partial<Pick<PatientState, 'status' | 'lastHeardOn' | 'levelChanges' | 'createdAt'>> & {
    baseline?: number;
    risk?: 'low' | 'medium' | 'high';
    timezone?: string;
  } = {},
): PatientState {
  const state = newPatient(id, 'en', setup.createdAt ?? Date.parse('2026-02-01T09:00:00Z'));
  state.status = setup.status ?? 'active';
  state.profile.baselinePain = setup.baseline;
  state.profile.riskGroup = setup.risk ?? 'medium';
  state.schedule = { ...state.schedule, timezone: setup.timezone ?? 'UTC' };
  state.days = days;
  state.lastHeardOn = setup.lastHeardOn ?? null;
  state.levelChanges = setup.levelChanges ?? [];
  return state;
}

const change = (
  date: string,
  ladder: LadderId,
  from: number,
  to: number,
  reason: LevelChange['reason'],
): LevelChange => ({ date, ladder, from, to, by: 'progression', reason });

// ---- the three weeks every later test uses -------------------------------------------------------

const breakthrough = {
  key: 'reason.breakthrough',
  params: { sessions: 3, pain: 3, avg: 3.3, previous: 4.3 },
};

/** Every day pushed; one skipped. */
const fullWeek = patient(
  'tg:111111111',
  [
    ...[6, 5, 6, 5].map((pain, i) => pushed(d(-7 + i), { outcome: 'done', pain, decision: 'hold' })),
    pushed(d(0), { outcome: 'done', pain: 5, decision: 'hold' }),
    pushed(d(1), { outcome: 'done', pain: 5, decision: 'hold' }),
    pushed(d(2), { outcome: 'partly', pain: 4, decision: 'hold' }),
    pushed(d(3), { outcome: 'skipped', pain: 5, decision: 'hold' }),
    pushed(d(4), { outcome: 'done', pain: 4, decision: 'hold' }),
    pushed(d(5), { outcome: 'done', pain: 3, decision: 'breakthrough' }),
    pushed(d(6), { outcome: 'done', pain: 3, decision: 'hold' }),
  ],
  {
    baseline: 6,
    lastHeardOn: d(6),
    levelChanges: [
      // Last week's change stays out of this week's summary.
      change(d(-4), 'deep_core', 1, 2, breakthrough),
      change(d(5), 'glutes', 2, 3, breakthrough),
    ],
  },
);

/** Days with no record, one push never answered, one check-in on a day without drills. */
const gapsWeek = patient(
  'slack:U0GAPS',
  [
    pushed(d(0), { outcome: 'done', pain: 4, decision: 'hold' }),
    pushed(d(2), { outcome: 'done', pain: 4, decision: 'hold' }),
    pushed(d(3)),
    pushed(d(4), { outcome: 'partly', pain: 5, decision: 'hold' }),
    { date: d(5), pain: 3, decision: 'hold' },
  ],
  {
    baseline: 5,
    lastHeardOn: d(5),
    levelChanges: [
      {
        date: d(2),
        ladder: 'lateral_core',
        from: 1,
        to: 2,
        by: 'coach',
        reason: { key: 'reason.coach', params: { ladder: 'lateral_core', level: 2 } },
      },
    ],
  },
);

/** Three setbacks, pain 8, silent since Thursday, a high STarT Back group. */
const setbackWeek = patient(
  'tg:333333333',
  [
    pushed(d(-3), { outcome: 'done', pain: 5, decision: 'hold' }),
    pushed(d(-2), { outcome: 'done', pain: 5, decision: 'hold' }),
    pushed(d(0), { outcome: 'done', pain: 4, decision: 'hold' }),
    pushed(d(1), { outcome: 'done', pain: 7, decision: 'setback' }),
    pushed(d(2), { outcome: 'partly', pain: 8, decision: 'setback' }),
    pushed(d(3), { outcome: 'skipped', pain: 6, decision: 'setback' }),
    pushed(d(4)),
  ],
  {
    baseline: 4,
    risk: 'high',
    lastHeardOn: d(3),
    levelChanges: [
      change(d(1), 'deep_core', 2, 1, { key: 'reason.setback_high', params: { pain: 7 } }),
      change(d(3), 'extensors', 2, 1, {
        key: 'reason.setback_baseline',
        params: { pain: 6, diff: 2, baseline: 4 },
      }),
    ],
  },
);

describe('weeklySummary, by hand', () => {
  it('sums up a full week', () => {
    // Pains 5+5+4+5+4+3+3 = 29 over 7 days = 4.142… → 4.1; last week 6+5+6+5 = 22 / 4 = 5.5.
    // Against baseline 6: (4.1 − 6) / 6 = −31.7 % → −32; 1.9 points down, 31.7 % ≥ 30 %: important.
    // Done or partly: Mon Tue Wed Fri Sat Sun = 6 of 7 pushed days; the streak runs Sun, Sat, Fri and
    // stops at Thursday's skip = 3. Heard on Sunday, summary on Monday: silent 1 day.
    expect(weeklySummary(fullWeek, WEEK, NEXT_MONDAY)).toEqual({
      weekStart: WEEK,
      avgPain: 4.1,
      avgPainLastWeek: 5.5,
      baseline: 6,
      changePct: -32,
      importantImprovement: true,
      sessionsDone: 6,
      sessionsPlanned: 7,
      adherence: 6 / 7,
      levelChanges: [{ date: d(5), ladder: 'glutes', from: 2, to: 3, reason: breakthrough }],
      setbacks: 0,
      maxPain: 5,
      streak: 3,
      silentDays: 1,
    } satisfies WeeklySummary);
    expect(attentionOf(fullWeek, weeklySummary(fullWeek, WEEK, NEXT_MONDAY))).toEqual([]);
  });

  it('counts a week with gaps', () => {
    // Pains 4, 4, 5 and Saturday’s 3 (a check-in without drills) = 16 / 4 = 4.0; no pains last week.
    // Baseline 5: −20 %, 1 point: not important. Planned: Mon, Tue (no record), Wed, Thu (pushed,
    // never answered), Fri, Sun (no record) = 6; Saturday had no drills, so it is not planned.
    // Done 3 of 6 = 0.5, which is not below one half. The streak ends on Saturday, the last day
    // with a record, and Saturday had no session: 0. Heard Saturday, as of Monday: 2 days.
    const s = weeklySummary(gapsWeek, WEEK, NEXT_MONDAY);
    expect(s).toMatchObject({
      avgPain: 4,
      avgPainLastWeek: null,
      baseline: 5,
      changePct: -20,
      importantImprovement: false,
      sessionsDone: 3,
      sessionsPlanned: 6,
      adherence: 0.5,
      setbacks: 0,
      maxPain: 5,
      streak: 0,
      silentDays: 2,
    });
    expect(s.levelChanges).toHaveLength(1);
    expect(attentionOf(gapsWeek, s)).toEqual([]);
  });

  it('flags a setback week for the coach', () => {
    // Pains 4, 7, 8, 6 = 25 / 4 = 6.3 (Friday was pushed, never answered); last week 5, 5 = 5.0.
    // Baseline 4: (6.3 − 4) / 4 = +57.5 % → +58. Setbacks Tue, Wed, Thu = 3; max pain 8.
    // Done or partly Mon, Tue, Wed = 3 of 7 planned (Sat and Sun have no record) = 0.43 < 0.5.
    // The streak ends on Friday (last record), which has no outcome: 0. Heard Thursday: 4 days.
    const s = weeklySummary(setbackWeek, WEEK, NEXT_MONDAY);
    expect(s).toMatchObject({
      avgPain: 6.3,
      avgPainLastWeek: 5,
      changePct: 58,
      importantImprovement: false,
      sessionsDone: 3,
      sessionsPlanned: 7,
      setbacks: 3,
      maxPain: 8,
      streak: 0,
      silentDays: 4,
    });
    expect(s.adherence).toBeCloseTo(3 / 7);
    expect(attentionOf(setbackWeek, s)).toEqual([
      'pain_high',
      'setbacks',
      'silent',
      'low_adherence',
      'high_risk',
    ]);
  });

  it('plans only the days since a patient joined mid-week, by their own local date', () => {
    // 23:30 UTC on Wednesday is 00:30 on Thursday in Berlin: Thu, Fri, Sat, Sun = 4 planned.
    const createdAt = Date.parse(`${d(2)}T23:30:00Z`);
    const days = [pushed(d(4), { outcome: 'done', pain: 5 }), pushed(d(5), { outcome: 'done', pain: 4 })];
    const berlin = patient('tg:444', days, { createdAt, timezone: 'Europe/Berlin', baseline: 5 });
    expect(weeklySummary(berlin, WEEK, NEXT_MONDAY)).toMatchObject({
      sessionsDone: 2,
      sessionsPlanned: 4,
      adherence: 0.5,
      // Sunday has no record, so the streak ends on Saturday: Sat, Fri.
      streak: 2,
    });
    // The same instant is still Wednesday in UTC.
    const utc = patient('tg:444', days, { createdAt, baseline: 5 });
    expect(weeklySummary(utc, WEEK, NEXT_MONDAY).sessionsPlanned).toBe(5);
    // Mid-week, as of Friday (so no Saturday record yet): Thursday and Friday only.
    const friday = patient('tg:444', days.slice(0, 1), { createdAt, timezone: 'Europe/Berlin' });
    expect(weeklySummary(friday, WEEK, d(4))).toMatchObject({ sessionsDone: 1, sessionsPlanned: 2 });
  });

  it('keeps a streak alive while today is still open, and carries it across the week start', () => {
    const state = patient('tg:555', [
      pushed(d(-2), { outcome: 'done', pain: 3 }),
      pushed(d(-1), { outcome: 'partly', pain: 3 }),
      pushed(d(0), { outcome: 'done', pain: 3 }),
      pushed(d(1), { outcome: 'done', pain: 3 }),
      pushed(d(2)),
    ]);
    // As of Wednesday, its push not yet answered: Tue, Mon, Sun, Sat = 4; Wednesday is planned.
    expect(weeklySummary(state, WEEK, d(2))).toMatchObject({
      streak: 4,
      sessionsDone: 2,
      sessionsPlanned: 3,
    });
    // A week later Wednesday is simply unanswered, and ends the streak.
    expect(weeklySummary(state, WEEK, NEXT_MONDAY).streak).toBe(0);
  });

  it('reports no figures for a week without data', () => {
    const state = patient('tg:666', [], { createdAt: Date.parse(`${NEXT_MONDAY}T10:00:00Z`) });
    expect(weeklySummary(state, WEEK, NEXT_MONDAY)).toMatchObject({
      avgPain: null,
      avgPainLastWeek: null,
      baseline: null,
      changePct: null,
      importantImprovement: false,
      sessionsPlanned: 0,
      adherence: null,
      maxPain: null,
      streak: 0,
      silentDays: null,
    });
  });

  it('refuses a week start that is not a Monday', () => {
    expect(() => weeklySummary(fullWeek, d(1), NEXT_MONDAY)).toThrow(/not a Monday/);
    expect(() => weeklySummary(fullWeek, '2026-3-2', NEXT_MONDAY)).toThrow(/not a Monday/);
  });
});

describe('the important change: ≥ 30 % or ≥ 2 points below baseline', () => {
  const withPains = (baseline: number | undefined, pains: number[]) =>
    weeklySummary(
      patient(
        'tg:777',
        pains.map((pain, i) => pushed(d(i), { outcome: 'done', pain })),
        baseline === undefined ? {} : { baseline },
      ),
      WEEK,
      NEXT_MONDAY,
    );

  it.each([
    // baseline, pains, average, change %, important — and why
    [6, [4, 4, 4, 5, 4], 4.2, -30, true], // 21/5 = 4.2: exactly 30 %, 1.8 points
    [6, [4, 4, 5], 4.3, -28, false], // 13/3 = 4.33 → 4.3: 28.3 %, 1.7 points
    [3, [2, 2], 2, -33, true], // 33 %, though only 1 point
    [8, [6, 7], 6.5, -19, false], // 18.75 % (rounded away from zero), 1.5 points
    [9, [7], 7, -22, true], // exactly 2 points, 22 %
    [9, [7, 7, 7, 7, 7, 7, 8], 7.1, -21, false], // 50/7 = 7.14 → 7.1: 1.9 points, 21 %
    [10, [7], 7, -30, true], // both at once
    [4, [4, 4], 4, 0, false],
    [4, [5, 6], 5.5, 38, false], // worse: 37.5 % → 38
    [0, [0, 1], 0.5, null, false], // no percentage of 0
  ] as const)(
    'baseline %s, pains %j: average %s, change %s, important %s',
    (baseline, pains, avg, pct, important) => {
      const s = withPains(baseline, [...pains]);
      expect(s.avgPain).toBe(avg);
      expect(s.changePct).toBe(pct);
      expect(s.importantImprovement).toBe(important);
    },
  );

  it('needs both a baseline and pains', () => {
    expect(withPains(undefined, [2])).toMatchObject({ changePct: null, importantImprovement: false });
    expect(withPains(6, [])).toMatchObject({ changePct: null, importantImprovement: false });
  });
});

describe('attentionOf', () => {
  const quiet = weeklySummary(fullWeek, WEEK, NEXT_MONDAY);
  const of = (setup: Parameters<typeof patient>[2], s: Partial<WeeklySummary> = {}) =>
    attentionOf(patient('tg:888', [], setup), { ...quiet, ...s });

  it('takes each reason at its threshold', () => {
    expect(of({ status: 'escalated' })).toEqual(['red_flag']);
    expect(of({ status: 'clinician_hold' })).toEqual(['red_flag']);
    expect(of({ status: 'paused' })).toEqual([]);
    expect(of({}, { maxPain: 8 })).toEqual(['pain_high']);
    expect(of({}, { maxPain: 7 })).toEqual([]);
    expect(of({}, { setbacks: 3 })).toEqual(['setbacks']);
    expect(of({}, { setbacks: 2 })).toEqual([]);
    expect(of({}, { silentDays: 3 })).toEqual(['silent']);
    expect(of({}, { silentDays: 2 })).toEqual([]);
    expect(of({}, { silentDays: null })).toEqual([]);
    expect(of({}, { adherence: 0.49 })).toEqual(['low_adherence']);
    expect(of({}, { adherence: 0.5 })).toEqual([]);
    expect(of({}, { adherence: null, sessionsPlanned: 0 })).toEqual([]);
    expect(of({ risk: 'high' })).toEqual(['high_risk']);
  });

  it('lists every reason in the spec’s order', () => {
    expect(
      of({ status: 'escalated', risk: 'high' }, { maxPain: 9, setbacks: 4, silentDays: 7, adherence: 0 }),
    ).toEqual([...ATTENTION]);
  });
});

describe('orderDigest', () => {
  const row = (label: string, attention: AttentionReason[]): DigestRow => ({
    label,
    attention,
    summary: weeklySummary(fullWeek, WEEK, NEXT_MONDAY),
  });

  it('puts the most serious first, then more reasons, then the label in number order', () => {
    const rows = [
      row('#1', []),
      row('#5', ['silent']),
      row('#10', ['pain_high']),
      row('#4', ['high_risk']),
      row('#11', []),
      row('#2', ['pain_high']),
      row('#7', ['low_adherence', 'high_risk']),
      row('#9', ['red_flag']),
      row('#3', ['pain_high', 'setbacks', 'silent']),
      row('#6', ['setbacks']),
    ];
    const before = rows.map((r) => r.label);
    expect(orderDigest(rows).map((r) => r.label)).toEqual([
      '#9', // red flag
      '#3', // pain, with two more reasons
      '#2', // pain alone; #2 before #10
      '#10',
      '#6', // setbacks
      '#5', // silent
      '#7', // low adherence
      '#4', // high risk
      '#1', // the rest, by label
      '#11',
    ]);
    expect(rows.map((r) => r.label)).toEqual(before);
  });
});

describe('texts', () => {
  const rows = (): DigestRow[] =>
    [
      ['#1', fullWeek],
      ['#2', setbackWeek],
      ['#3', gapsWeek],
    ].map(([label, state]) => {
      const summary = weeklySummary(state as PatientState, WEEK, NEXT_MONDAY);
      return { label: label as string, summary, attention: attentionOf(state as PatientState, summary) };
    });

  it('gives the patient their week in English', () => {
    const text = summaryText(content, 'en', weeklySummary(fullWeek, WEEK, NEXT_MONDAY), ladderName('en'));
    expect(text).toContain('Your week, Mar 2 – Mar 8');
    expect(text).toContain(
      'Average pain this week: 4.1. Last week: 5.5. That’s 32% below your starting pain of 6.',
    );
    expect(text).toContain('clinically important improvement');
    expect(text).toContain('Sessions done: 6 of 7 (86%).');
    expect(text).toContain('3 days in a row with a session.');
    expect(text).toContain(
      '• Sat, Mar 7: Glutes up to level 3 (3 good sessions in a row, pain 3 today and a three-day average of 3.3 (before: 4.3))',
    );
    expect(text).not.toContain('Deep core');
  });

  it('gives the patient their week in German, with decimal commas', () => {
    const text = summaryText(content, 'de', weeklySummary(fullWeek, WEEK, NEXT_MONDAY), ladderName('de'));
    expect(text).toContain('Deine Woche, 2. März – 8. März');
    expect(text).toContain(
      'Durchschnittlicher Schmerz diese Woche: 4,1. Letzte Woche: 5,5. Das sind 32 % weniger als dein Ausgangswert von 6.',
    );
    expect(text).toContain('klinisch bedeutsame Verbesserung');
    expect(text).toContain('Einheiten geschafft: 6 von 7 (86 %).');
    expect(text).toContain('3 Tage in Folge');
    expect(text).toContain('Gesäßmuskulatur hoch auf Stufe 3');
    expect(text).toContain('Drei-Tage-Schnitt von 3,3 (vorher: 4,3)');
  });

  it('names the ladder in a coach’s change and leaves out what there is nothing to say about', () => {
    const text = summaryText(content, 'en', weeklySummary(gapsWeek, WEEK, NEXT_MONDAY), ladderName('en'));
    expect(text).toContain('Average pain this week: 4.0. That’s 20% below your starting pain of 5.');
    expect(text).not.toContain('Last week');
    expect(text).not.toContain('clinically important');
    expect(text).not.toContain('in a row');
    expect(text).toContain('Sessions done: 3 of 6 (50%).');
    expect(text).toContain('Side core up to level 2 (your coach set Side core to level 2)');
    expect(text).not.toContain('lateral_core');
  });

  it('says it when pain went up and levels went down', () => {
    const en = summaryText(content, 'en', weeklySummary(setbackWeek, WEEK, NEXT_MONDAY), ladderName('en'));
    expect(en).toContain('That’s 58% above your starting pain of 4.');
    expect(en).toContain('Deep core back to level 1 (pain 7 today, and 7 or more calls for a gentler day)');
    const de = summaryText(content, 'de', weeklySummary(setbackWeek, WEEK, NEXT_MONDAY), ladderName('de'));
    expect(de).toContain('Das sind 58 % mehr als dein Ausgangswert von 4.');
    expect(de).toContain('Rückenstrecker zurück auf Stufe 1');
  });

  it('has a line for a week without pains, sessions or changes', () => {
    const empty = weeklySummary(
      patient('tg:999', [], { createdAt: Date.parse(`${NEXT_MONDAY}T10:00:00Z`) }),
      WEEK,
      NEXT_MONDAY,
    );
    expect(summaryText(content, 'en', empty, ladderName('en')).split('\n\n')).toEqual([
      'Your week, Mar 2 – Mar 8',
      'No pain scores this week.',
      'No sessions were due this week.',
      'Your levels stayed the same this week.',
    ]);
  });

  it('writes one digest line with trend, adherence and reasons', () => {
    const [full, setback, gaps] = rows() as [DigestRow, DigestRow, DigestRow];
    expect(digestLine(content, 'en', full)).toBe('#1: pain 4.1 ↓ (last week 5.5) · sessions 6/7 (86%)');
    expect(digestLine(content, 'en', setback)).toBe(
      '#2: pain 6.3 ↑ (last week 5.0) · sessions 3/7 (43%) · ⚠ pain up to 8, 3 setbacks, silent for 4 days, adherence under 50%, STarT Back high risk',
    );
    expect(digestLine(content, 'en', gaps)).toBe('#3: pain 4.0 (none last week) · sessions 3/6 (50%)');
    expect(digestLine(content, 'de', full)).toBe('#1: Schmerz 4,1 ↓ (Vorwoche 5,5) · Einheiten 6/7 (86 %)');
    expect(digestLine(content, 'de', setback)).toBe(
      '#2: Schmerz 6,3 ↑ (Vorwoche 5,0) · Einheiten 3/7 (43 %) · ⚠ Schmerz bis 8, 3 Rückschläge, seit 4 Tagen ohne Rückmeldung, Trainingstreue unter 50 %, STarT Back hohes Risiko',
    );
  });

  it('shows an even week with an arrow to the side and a week without pains or sessions', () => {
    const [full] = rows() as [DigestRow];
    const even = { ...full, summary: { ...full.summary, avgPain: 5.5 } };
    expect(digestLine(content, 'en', even)).toContain('pain 5.5 → (last week 5.5)');
    const nothing = {
      ...full,
      summary: { ...full.summary, avgPain: null, adherence: null, sessionsPlanned: 0, sessionsDone: 0 },
    };
    expect(digestLine(content, 'en', nothing)).toBe('#1: no pain scores · no sessions due');
  });

  it('puts the coach digest together, attention first, with nothing but the labels', () => {
    for (const locale of LOCALES) {
      const text = coachDigestText(content, locale, rows(), WEEK);
      const [title, attention, rest, ...more] = text.split('\n\n');
      expect(more).toEqual([]);
      expect(title).toBe(
        locale === 'en'
          ? 'Weekly patient digest, week of Mar 2, 2026'
          : 'Wochenübersicht, Woche ab 2. März 2026',
      );
      expect(attention?.split('\n')).toEqual([
        locale === 'en' ? 'Needs attention (1):' : 'Braucht Aufmerksamkeit (1):',
        digestLine(content, locale, rows()[1] as DigestRow),
      ]);
      expect(rest?.split('\n').map((line) => line.split(':')[0])).toEqual([
        locale === 'en' ? 'Everyone else (2)' : 'Alle anderen (2)',
        '#1',
        '#3',
      ]);
      for (const state of [fullWeek, setbackWeek, gapsWeek]) {
        expect(text).not.toContain(state.id);
        expect(text).not.toContain(state.id.split(':')[1]);
      }
    }
  });

  it('says when nobody needs attention, and when nobody is on the roster', () => {
    const calm = rows().filter((r) => r.attention.length === 0);
    expect(coachDigestText(content, 'en', calm, WEEK).split('\n\n').slice(1, 2)).toEqual([
      'Nobody needs attention this week.',
    ]);
    expect(coachDigestText(content, 'en', [], WEEK)).toBe(
      'Weekly patient digest, week of Mar 2, 2026\n\nNo patients on your roster yet.',
    );
    expect(coachDigestText(content, 'de', [], WEEK)).toContain('Noch keine Patientinnen oder Patienten');
  });
});

describe('weeklySummary, for any week', () => {
  const record = (date: string) =>
    fc
      .record(
        {
          session: fc.boolean(),
          outcome: fc.constantFrom(...OUTCOMES),
          pain: fc.integer({ min: 0, max: 10 }),
          decision: fc.constantFrom('setback', 'breakthrough', 'hold'),
        },
        { requiredKeys: ['session'] },
      )
      .map(({ session, ...rest }): DayRecord => ({ date, ...(session ? { session: PLAN } : {}), ...rest }));

  it('keeps its figures within their bounds', () => {
    fc.assert(
      fc.property(
        // Two weeks of optional records (last week and this), a join date around them, and any "today".
        fc.tuple(...Array.from({ length: 14 }, (_, i) => fc.option(record(d(i - 7)), { nil: undefined }))),
        fc.integer({ min: -20, max: 8 }),
        fc.integer({ min: 0, max: 12 }),
        fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
        (records, joined, asOfOffset, baseline) => {
          const days = records.filter((r): r is DayRecord => r !== undefined);
          const state = patient('tg:1', days, {
            createdAt: Date.parse(`${d(joined)}T12:00:00Z`),
            ...(baseline === undefined ? {} : { baseline }),
          });
          const s = weeklySummary(state, WEEK, d(asOfOffset));
          expect(s.sessionsDone).toBeLessThanOrEqual(7);
          expect(s.sessionsPlanned).toBeLessThanOrEqual(7);
          expect(s.sessionsDone).toBeLessThanOrEqual(s.sessionsPlanned);
          if (s.adherence !== null) {
            expect(s.adherence).toBeGreaterThanOrEqual(0);
            expect(s.adherence).toBeLessThanOrEqual(1);
          }
          for (const avg of [s.avgPain, s.avgPainLastWeek]) {
            if (avg === null) continue;
            expect(avg).toBeGreaterThanOrEqual(0);
            expect(avg).toBeLessThanOrEqual(10);
            expect(Math.round(avg * 10) / 10).toBe(avg);
          }
          const withSessions = days.filter((r) => r.outcome === 'done' || r.outcome === 'partly').length;
          expect(s.streak).toBeGreaterThanOrEqual(0);
          expect(s.streak).toBeLessThanOrEqual(withSessions);
          if (s.importantImprovement) expect(s.changePct ?? 0).toBeLessThan(0);
        },
      ),
    );
  });
});
