import { type Content, render } from '../content/content.ts';
import { formatNumber } from '../content/locale-format.ts';
import type { Locale } from '../content/schema.ts';
import type { DayRecord, PatientState } from '../engine/state.ts';
import { addDays, weekdayOf } from '../time/local.ts';

/** Below this many contributors a team's figures could point at individuals, so none are shown. */
export const MIN_CONTRIBUTORS = 5;

// The copy spells this out in words ("three times"), so that no number but a team aggregate ever
// appears in a digest; change the team.digest.trained copy together with it.
const TRAINED_SESSIONS = 3;

/** One member's two weeks, already reduced to what a team may know. */
export interface MemberWeeks {
  /** Sessions done or partly done (outcome 'done' | 'partly') in the week starting `weekStart`. */
  sessions: number;
  sessionsLastWeek: number;
  /** Pain values of check-ins this week / last week (DayRecord.pain). */
  pains: number[];
  painsLastWeek: number[];
}

const isSession = (day: DayRecord) => day.outcome === 'done' || day.outcome === 'partly';

/** weekStart: the local date (YYYY-MM-DD, a Monday) the reported week starts on; days are the state's own local dates. */
export function memberWeeksOf(state: PatientState, weekStart: string): MemberWeeks {
  // A wrong week start would quietly report a shifted week to the whole team: fail loudly instead.
  if (weekdayOf(weekStart) !== 1) {
    throw new Error(`week start ${weekStart} is not a Monday (YYYY-MM-DD)`);
  }
  const lastWeekStart = addDays(weekStart, -7);
  const nextWeekStart = addDays(weekStart, 7);
  // ISO dates compare correctly as strings.
  const thisWeek = state.days.filter((d) => d.date >= weekStart && d.date < nextWeekStart);
  const lastWeek = state.days.filter((d) => d.date >= lastWeekStart && d.date < weekStart);
  const painsOf = (days: DayRecord[]) => days.flatMap((d) => (d.pain === undefined ? [] : [d.pain]));
  return {
    sessions: thisWeek.filter(isSession).length,
    sessionsLastWeek: lastWeek.filter(isSession).length,
    pains: painsOf(thisWeek),
    painsLastWeek: painsOf(lastWeek),
  };
}

export type TeamDigest =
  | { kind: 'hidden'; participants: number; contributors: number }
  | {
      kind: 'shown';
      /** Members of the team. */
      participants: number;
      /** Members with at least one check-in (pain) or session this week. */
      contributors: number;
      /** Share of contributors with sessions >= 3, 0..1. */
      trainedThreeShare: number;
      /** Mean over contributors who have pains in both weeks of (mean this week − mean last week), rounded to 1 decimal; null when fewer than MIN_CONTRIBUTORS such members (so a small subset can't be singled out). */
      avgPainChange: number | null;
      /** Team total this week. */
      sessions: number;
      /** Team total last week. */
      sessionsLastWeek: number;
    };

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const mean = (values: readonly number[]) => sum(values) / values.length;

/** Hidden when contributors < MIN_CONTRIBUTORS. */
export function teamDigest(members: readonly MemberWeeks[]): TeamDigest {
  const participants = members.length;
  const active = members.filter((m) => m.sessions > 0 || m.pains.length > 0);
  const contributors = active.length;
  if (contributors < MIN_CONTRIBUTORS) return { kind: 'hidden', participants, contributors };
  const compared = active.filter((m) => m.pains.length > 0 && m.painsLastWeek.length > 0);
  const change = mean(compared.map((m) => mean(m.pains) - mean(m.painsLastWeek)));
  return {
    kind: 'shown',
    participants,
    contributors,
    trainedThreeShare: active.filter((m) => m.sessions >= TRAINED_SESSIONS).length / contributors,
    // `|| 0` turns a rounded −0 into 0, so no change never reads as "−0.0".
    avgPainChange: compared.length < MIN_CONTRIBUTORS ? null : Math.round(change * 10) / 10 || 0,
    sessions: sum(members.map((m) => m.sessions)),
    sessionsLastWeek: sum(members.map((m) => m.sessionsLastWeek)),
  };
}

/** A pain change with its sign, in the locale's decimal style: "−0.8", "+0,5", "0.0". */
function signedChange(locale: Locale, change: number): string {
  const digits = formatNumber(locale, Math.abs(change), {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  // A true minus sign (U+2212): a hyphen reads as a dash in a chat line.
  return change < 0 ? `−${digits}` : change > 0 ? `+${digits}` : digits;
}

/**
 * The channel message. It takes only the team's aggregates and name, never members, so no name
 * or individual value can reach the channel through it.
 */
export function digestText(content: Content, locale: Locale, teamName: string, digest: TeamDigest): string {
  const t = (key: string, params: Record<string, string | number> = {}) =>
    render(content, locale, `team.digest.${key}`, params);
  const header = t('header', { team: teamName });
  // Nothing but the threshold: even the head count of a small group says something about its members.
  if (digest.kind === 'hidden') return [header, t('hidden', { min: MIN_CONTRIBUTORS })].join('\n');
  const challenge =
    digest.sessions > digest.sessionsLastWeek
      ? 'challenge_up'
      : digest.sessions === digest.sessionsLastWeek
        ? 'challenge_same'
        : 'challenge_down';
  return [
    header,
    t('participants', { participants: digest.participants, contributors: digest.contributors }),
    t('trained', { percent: Math.round(digest.trainedThreeShare * 100) }),
    digest.avgPainChange === null
      ? t('pain_change_hidden', { min: MIN_CONTRIBUTORS })
      : t('pain_change', { change: signedChange(locale, digest.avgPainChange) }),
    t(challenge, { now: digest.sessions, before: digest.sessionsLastWeek }),
  ].join('\n');
}
