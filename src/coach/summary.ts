import { DateTime } from 'luxon';
import { type Content, type Params, render } from '../content/content.ts';
import { formatDate, formatNumber } from '../content/locale-format.ts';
import type { Locale } from '../content/schema.ts';
import type { DayRecord, PatientState } from '../engine/state.ts';
import { addDays, daysBetween, isValidDate, localDate, weekdayOf } from '../time/local.ts';

/** weekStart: the patient's local Monday (YYYY-MM-DD) the reported week starts on; asOf: the local date "today" (for silence). */
export interface WeeklySummary {
  weekStart: string;
  /** Mean of this week's pains, 1 decimal. */
  avgPain: number | null;
  avgPainLastWeek: number | null;
  /** profile.baselinePain */
  baseline: number | null;
  /** Change of this week's average against baseline, in % of baseline (negative = better), whole number; null without both (or with a baseline of 0). */
  changePct: number | null;
  /**
   * A clinically important improvement on the 0–10 pain scale: this week's average is at least 30 % OR
   * at least 2 points below baseline (Farrar et al., Pain 2001; Ostelo et al., Spine 2008).
   */
  importantImprovement: boolean;
  /** Days with outcome 'done' or 'partly'. */
  sessionsDone: number;
  /** See plannedDays below for the rule. */
  sessionsPlanned: number;
  /** sessionsDone / sessionsPlanned (0..1), null when none planned. */
  adherence: number | null;
  levelChanges: {
    date: string;
    ladder: string;
    from: number;
    to: number;
    reason: { key: string; params: Record<string, string | number> };
  }[];
  /** Days with decision 'setback' this week. */
  setbacks: number;
  maxPain: number | null;
  /** Consecutive days with a session done or partly, ending on the week's last day with a record (or asOf), 0 if none. */
  streak: number;
  /** Days since the patient was last heard (lastHeardOn) as of asOf; null if never. */
  silentDays: number | null;
}

/** The published thresholds for an important change in pain; the copy (summary.important) names them. */
const IMPORTANT_PERCENT = 30;
const IMPORTANT_TENTHS = 20;

const isSession = (day: DayRecord) => day.outcome === 'done' || day.outcome === 'partly';
const painsOf = (days: readonly DayRecord[]) => days.flatMap((d) => (d.pain === undefined ? [] : [d.pain]));

/**
 * Averages are kept in whole tenths: the threshold test then works on integers, so 4.2 against a
 * baseline of 6 is exactly 30 % (in floating point 6 − 4.2 is a hair under 1.8).
 */
function meanTenths(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return Math.round((values.reduce((a, b) => a + b, 0) * 10) / values.length);
}

/** Rounds halves away from zero, so −18.5 % and +18.5 % read the same, and never gives −0. */
function roundSymmetric(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x)) || 0;
}

function assertWeek(weekStart: string, asOf: string): void {
  // A wrong week start would quietly report a shifted week: fail loudly instead.
  if (weekdayOf(weekStart) !== 1) {
    throw new Error(`week start ${weekStart} is not a Monday (YYYY-MM-DD)`);
  }
  if (!isValidDate(asOf)) throw new Error(`as-of date ${asOf} is not a date (YYYY-MM-DD)`);
}

/**
 * Days of the week on which a session counts as due. We don't keep a per-day history of pauses or
 * holidays, so the rule leans on what the records say:
 * - a day with a session done or partly always counts (adherence can never exceed 1);
 * - between the patient's first local date (createdAt) and the end of the week, or asOf if earlier,
 *   a day counts when drills were pushed or answered (session, pushedAt or an outcome), and also
 *   when it has no record at all, since the schedule would have pushed that day and silence is
 *   exactly what adherence should show;
 * - a day with a record but no drills (a check-in while paused or away) does not count.
 * Today (asOf) counts even before its push: a mid-week figure is a floor, the Monday run is exact.
 */
function plannedDays(state: PatientState, week: readonly string[], asOf: string): number {
  const joined = localDate(state.createdAt, state.schedule.timezone);
  const byDate = new Map(state.days.map((d) => [d.date, d]));
  return week.filter((date) => {
    const day = byDate.get(date);
    if (day && isSession(day)) return true;
    if (date < joined || date > asOf) return false;
    return (
      day === undefined ||
      day.session !== undefined ||
      day.pushedAt !== undefined ||
      day.outcome !== undefined
    );
  }).length;
}

/**
 * The streak ends on the week's last day with a record up to asOf; today without an answer yet is
 * still open, so it neither counts nor breaks the streak. From there it counts back over consecutive
 * days done or partly, across the week's start too: a streak is a running count, not a weekly one.
 */
function streakOf(state: PatientState, weekStart: string, asOf: string): number {
  const byDate = new Map(state.days.map((d) => [d.date, d]));
  const weekEnd = addDays(weekStart, 6);
  let end = asOf < weekEnd ? asOf : weekEnd;
  while (end >= weekStart) {
    const day = byDate.get(end);
    const openToday = end === asOf && day?.outcome === undefined;
    if (day && !openToday) break;
    end = addDays(end, -1);
  }
  if (end < weekStart) return 0;
  let streak = 0;
  for (let date = end; ; date = addDays(date, -1)) {
    const day = byDate.get(date);
    if (!day || !isSession(day)) return streak;
    streak++;
  }
}

export function weeklySummary(state: PatientState, weekStart: string, asOf: string): WeeklySummary {
  assertWeek(weekStart, asOf);
  const week = [0, 1, 2, 3, 4, 5, 6].map((n) => addDays(weekStart, n));
  const weekEnd = addDays(weekStart, 6);
  const lastWeekStart = addDays(weekStart, -7);
  // ISO dates compare correctly as strings.
  const thisWeek = state.days.filter((d) => d.date >= weekStart && d.date <= weekEnd);
  const lastWeek = state.days.filter((d) => d.date >= lastWeekStart && d.date < weekStart);

  const pains = painsOf(thisWeek);
  const avgTenths = meanTenths(pains);
  const lastTenths = meanTenths(painsOf(lastWeek));
  const baseline = state.profile.baselinePain ?? null;
  const baseTenths = baseline === null ? null : baseline * 10;

  // Judged on the rounded average the patient is shown, so the verdict always matches the figure.
  const reduction = avgTenths === null || baseTenths === null ? null : baseTenths - avgTenths;
  const importantImprovement =
    reduction !== null &&
    baseTenths !== null &&
    reduction > 0 &&
    (reduction * 100 >= IMPORTANT_PERCENT * baseTenths || reduction >= IMPORTANT_TENTHS);
  // A baseline of 0 has no percentage: any pain at all would be "infinitely" worse.
  const changePct =
    avgTenths === null || baseTenths === null || baseTenths === 0
      ? null
      : roundSymmetric(((avgTenths - baseTenths) * 100) / baseTenths);

  const sessionsDone = thisWeek.filter(isSession).length;
  const sessionsPlanned = plannedDays(state, week, asOf);

  return {
    weekStart,
    avgPain: avgTenths === null ? null : avgTenths / 10,
    avgPainLastWeek: lastTenths === null ? null : lastTenths / 10,
    baseline,
    changePct,
    importantImprovement,
    sessionsDone,
    sessionsPlanned,
    adherence: sessionsPlanned === 0 ? null : sessionsDone / sessionsPlanned,
    levelChanges: state.levelChanges
      .filter((c) => c.date >= weekStart && c.date <= weekEnd)
      .map((c) => ({
        date: c.date,
        ladder: c.ladder,
        from: c.from,
        to: c.to,
        reason: { key: c.reason.key, params: { ...c.reason.params } },
      })),
    setbacks: thisWeek.filter((d) => d.decision === 'setback').length,
    maxPain: pains.length === 0 ? null : Math.max(...pains),
    streak: streakOf(state, weekStart, asOf),
    // A summary of a past week may be built with a lastHeardOn after it; silence is never negative.
    silentDays: state.lastHeardOn === null ? null : Math.max(0, daysBetween(state.lastHeardOn, asOf)),
  };
}

// ---- coach attention ---------------------------------------------------------------------------

/** The spec's order, which is also the order of seriousness for the digest. */
export const ATTENTION = [
  'red_flag',
  'pain_high',
  'setbacks',
  'silent',
  'low_adherence',
  'high_risk',
] as const;
export type AttentionReason = (typeof ATTENTION)[number];

/** The same figures as the coach alerts (DESIGN §4), so the digest and the alerts never disagree. */
const PAIN_HIGH = 8;
const SETBACKS = 3;
const SILENT_DAYS = 3;
const LOW_ADHERENCE = 0.5;

/** Why a coach should look at this patient, in the spec's order. */
export function attentionOf(state: PatientState, summary: WeeklySummary): AttentionReason[] {
  const flagged: Record<AttentionReason, boolean> = {
    red_flag: state.status === 'escalated' || state.status === 'clinician_hold',
    pain_high: summary.maxPain !== null && summary.maxPain >= PAIN_HIGH,
    setbacks: summary.setbacks >= SETBACKS,
    silent: summary.silentDays !== null && summary.silentDays >= SILENT_DAYS,
    low_adherence: summary.adherence !== null && summary.adherence < LOW_ADHERENCE,
    high_risk: state.profile.riskGroup === 'high',
  };
  return ATTENTION.filter((reason) => flagged[reason]);
}

export interface DigestRow {
  /** "#3" etc., chosen by the caller: the only thing that identifies the patient in a digest. */
  label: string;
  summary: WeeklySummary;
  attention: AttentionReason[];
}

// "#2" before "#10".
const byLabel = new Intl.Collator('en', { numeric: true }).compare;
const seriousness = (row: DigestRow) => Math.min(...row.attention.map((r) => ATTENTION.indexOf(r)));

/** Attention first (ordered by their most serious reason, then by number of reasons, then label), then the rest by label. */
export function orderDigest(rows: readonly DigestRow[]): DigestRow[] {
  const attention = rows
    .filter((r) => r.attention.length > 0)
    .sort(
      (a, b) =>
        seriousness(a) - seriousness(b) ||
        b.attention.length - a.attention.length ||
        byLabel(a.label, b.label),
    );
  const rest = rows.filter((r) => r.attention.length === 0).sort((a, b) => byLabel(a.label, b.label));
  return [...attention, ...rest];
}

// ---- texts ---------------------------------------------------------------------------------------

// Copy formats plain arguments with String(), which would give "4.2" in German: numbers go in as
// strings formatted for the locale, except counts that drive a plural.
const oneDecimal = (locale: Locale, n: number) =>
  formatNumber(locale, n, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const whole = (locale: Locale, n: number) => formatNumber(locale, n);
const percentOf = (locale: Locale, share: number) => whole(locale, Math.round(share * 100));

/** The patient's weekly message. */
export function summaryText(
  content: Content,
  locale: Locale,
  s: WeeklySummary,
  ladderName: (id: string) => string,
): string {
  const t = (key: string, params: Params = {}) => render(content, locale, key, params);
  const dayMonth: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'short' };
  const lines = [
    t('summary.title', {
      from: formatDate(locale, s.weekStart, dayMonth),
      to: formatDate(locale, addDays(s.weekStart, 6), dayMonth),
    }),
  ];

  if (s.avgPain === null) lines.push(t('summary.pain_none'));
  else {
    const pain = [t('summary.pain', { avg: oneDecimal(locale, s.avgPain) })];
    if (s.avgPainLastWeek !== null)
      pain.push(t('summary.pain_last_week', { avg: oneDecimal(locale, s.avgPainLastWeek) }));
    if (s.baseline !== null && s.changePct !== null) {
      const key =
        s.changePct < 0
          ? 'summary.baseline_lower'
          : s.changePct > 0
            ? 'summary.baseline_higher'
            : 'summary.baseline_same';
      pain.push(
        t(key, { percent: whole(locale, Math.abs(s.changePct)), baseline: whole(locale, s.baseline) }),
      );
    }
    lines.push(pain.join(' '));
    if (s.importantImprovement) lines.push(t('summary.important'));
  }

  lines.push(
    s.adherence === null
      ? t('summary.sessions_none')
      : t('summary.sessions', {
          done: whole(locale, s.sessionsDone),
          planned: whole(locale, s.sessionsPlanned),
          percent: percentOf(locale, s.adherence),
        }),
  );
  // One day is not yet a streak worth a line.
  if (s.streak >= 2) lines.push(t('summary.streak', { days: s.streak }));

  if (s.levelChanges.length === 0) lines.push(t('summary.no_changes'));
  else {
    // Reasons were stored as data when the decision was made; here they meet the patient's locale:
    // a ladder id becomes its name and a decimal (a three-day average) gets the locale's comma.
    // Whole numbers stay numbers, as plural branches need them.
    const named = (params: Params): Params =>
      Object.fromEntries(
        Object.entries(params).map(([name, value]) => [
          name,
          name === 'ladder' && typeof value === 'string'
            ? ladderName(value)
            : typeof value === 'number' && !Number.isInteger(value)
              ? formatNumber(locale, value)
              : value,
        ]),
      );
    const changes = s.levelChanges.map((c) =>
      t('summary.level_change', {
        date: formatDate(locale, c.date, { weekday: 'short', day: 'numeric', month: 'short' }),
        change: t(c.to < c.from ? 'change.down' : 'change.up', { ladder: ladderName(c.ladder), level: c.to }),
        reason: t(c.reason.key, named(c.reason.params)),
      }),
    );
    lines.push([t('summary.changes'), ...changes].join('\n'));
  }
  return lines.join('\n\n');
}

const ARROWS = { down: '↓', up: '↑', same: '→' } as const;

/** One line: label, trend (avg this vs last week with arrow), adherence %, reasons. */
export function digestLine(content: Content, locale: Locale, row: DigestRow): string {
  const t = (key: string, params: Params = {}) => render(content, locale, key, params);
  const s = row.summary;
  const pain =
    s.avgPain === null
      ? t('digest.pain_none')
      : s.avgPainLastWeek === null
        ? t('digest.pain_new', { now: oneDecimal(locale, s.avgPain) })
        : t('digest.pain_trend', {
            now: oneDecimal(locale, s.avgPain),
            before: oneDecimal(locale, s.avgPainLastWeek),
            arrow:
              s.avgPain < s.avgPainLastWeek
                ? ARROWS.down
                : s.avgPain > s.avgPainLastWeek
                  ? ARROWS.up
                  : ARROWS.same,
          });
  const sessions =
    s.adherence === null
      ? t('digest.sessions_none')
      : t('digest.sessions', {
          done: whole(locale, s.sessionsDone),
          planned: whole(locale, s.sessionsPlanned),
          percent: percentOf(locale, s.adherence),
        });
  if (row.attention.length === 0) return t('digest.line', { label: row.label, pain, sessions });
  const reasons = row.attention
    .map((reason) =>
      t(`digest.reason.${reason}`, {
        max: s.maxPain ?? 0,
        setbacks: s.setbacks,
        days: s.silentDays ?? 0,
      }),
    )
    .join(', ');
  return t('digest.line_attention', { label: row.label, pain, sessions, reasons });
}

/**
 * The coach's weekly digest. It takes rows, never patient states, so nothing but the caller's labels
 * can identify a patient in it.
 */
export function coachDigestText(
  content: Content,
  locale: Locale,
  rows: readonly DigestRow[],
  weekStart: string,
): string {
  const t = (key: string, params: Params = {}) => render(content, locale, key, params);
  const title = t('digest.title', { date: formatDate(locale, weekStart, DateTime.DATE_MED) });
  if (rows.length === 0) return [title, t('digest.empty')].join('\n\n');
  const ordered = orderDigest(rows);
  const attention = ordered.filter((r) => r.attention.length > 0);
  const rest = ordered.filter((r) => r.attention.length === 0);
  const line = (row: DigestRow) => digestLine(content, locale, row);
  const sections = [
    title,
    attention.length === 0
      ? t('digest.attention_none')
      : [t('digest.attention', { count: attention.length }), ...attention.map(line)].join('\n'),
  ];
  if (rest.length > 0)
    sections.push([t('digest.rest', { count: rest.length }), ...rest.map(line)].join('\n'));
  return sections.join('\n\n');
}
