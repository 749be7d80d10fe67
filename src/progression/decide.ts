import type { LadderId } from '../content/schema.ts';
import type { CoachAlert } from '../engine/events.ts';
import type { DayRecord, LadderState, Reason, RiskGroup } from '../engine/state.ts';
import { addDays, daysBetween } from '../time/local.ts';

/** The numbers of DESIGN §4, in one place. */
export const RULES = {
  /** Minimal important change on a 0–10 pain scale. */
  importantChange: 2,
  flarePain: 7,
  alertPain: 8,
  setbacksForAlert: 3,
  setbackWindowDays: 7,
  daysBetweenChanges: 3,
  goodSessions: { low: 3, medium: 3, high: 5 } satisfies Record<RiskGroup, number>,
  aboutRightSessionsToProgress: 5,
  /** Pain at least this far below baseline is a clinically important improvement. */
  celebrateFraction: 0.3,
} as const;

export interface DecisionInput {
  today: string;
  /** Every day record, today's included and complete with its pain. */
  days: readonly DayRecord[];
  levels: Partial<Record<LadderId, LadderState>>;
  baselinePain: number;
  riskGroup: RiskGroup;
  maxLevel: (ladder: LadderId) => number;
}

export interface LevelMove {
  ladder: LadderId;
  from: number;
  to: number;
}

export interface Decision {
  kind: 'setback' | 'breakthrough' | 'hold';
  /** Why, naming the data behind it. Every change carries this reason. */
  reason: Reason;
  changes: LevelMove[];
  /** Ladders the decision would have changed but a rule kept in place, each with its reason. */
  held: Reason[];
  alerts: { alert: CoachAlert; reason: Reason }[];
  celebrate: Reason | null;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function painOn(days: readonly DayRecord[], date: string): number | undefined {
  return days.find((d) => d.date === date)?.pain;
}

function average(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0) / known.length;
}

function trained(day: DayRecord | undefined): LadderId[] {
  if (!day?.session || (day.outcome !== 'done' && day.outcome !== 'partly')) return [];
  return day.session.drills.map((d) => d.ladder);
}

function setbackReason(input: DecisionInput, today: DayRecord, pain: number): Reason | undefined {
  const { baselinePain } = input;
  if (pain >= RULES.flarePain) return { key: 'reason.setback_high', params: { pain } };
  if (pain >= baselinePain + RULES.importantChange)
    return {
      key: 'reason.setback_baseline',
      params: { pain, diff: pain - baselinePain, baseline: baselinePain },
    };
  if (today.painDuring === 'severe') return { key: 'reason.setback_severe', params: { pain } };
  const yesterday = input.days.find((d) => d.date === addDays(input.today, -1));
  if (
    yesterday?.pain !== undefined &&
    trained(yesterday).length > 0 &&
    pain - yesterday.pain >= RULES.importantChange
  )
    return {
      key: 'reason.setback_rise',
      params: { pain, rise: pain - yesterday.pain, yesterday: yesterday.pain },
    };
  return undefined;
}

/** Moves each ladder one step, unless a rule holds it; the held ones come back with their reason. */
function move(input: DecisionInput, ladders: readonly LadderId[], step: 1 | -1) {
  const changes: LevelMove[] = [];
  const held: Reason[] = [];
  for (const ladder of new Set(ladders)) {
    const state = input.levels[ladder] ?? { level: 1, changedOn: null, locked: false };
    const to = state.level + step;
    const since =
      state.changedOn === null ? Number.POSITIVE_INFINITY : daysBetween(state.changedOn, input.today);
    if (state.locked) held.push({ key: 'held.locked', params: { ladder, level: state.level } });
    else if (to < 1) held.push({ key: 'held.bottom', params: { ladder } });
    else if (to > input.maxLevel(ladder))
      held.push({ key: 'held.top', params: { ladder, level: state.level } });
    else if (since < RULES.daysBetweenChanges)
      held.push({ key: 'held.recent', params: { ladder, days: since, level: state.level } });
    else changes.push({ ladder, from: state.level, to });
  }
  return { changes, held };
}

function goodSession(day: DayRecord): boolean {
  return (
    day.outcome === 'done' &&
    (day.difficulty === 'too_easy' || day.difficulty === 'about_right') &&
    (day.painDuring === 'none' || day.painDuring === 'mild')
  );
}

/** Ladders due a step up: all trained today if it felt too easy, else those steady for five sessions. */
function readyToProgress(input: DecisionInput, today: DayRecord): LadderId[] {
  const ladders = trained(today);
  if (today.difficulty === 'too_easy') return ladders;
  return ladders.filter((ladder) => {
    const since = input.levels[ladder]?.changedOn ?? null;
    const steady = input.days.filter(
      (d) =>
        (since === null || d.date > since) &&
        goodSession(d) &&
        d.session?.drills.some((x) => x.ladder === ladder),
    );
    return steady.length >= RULES.aboutRightSessionsToProgress;
  });
}

export function decide(input: DecisionInput): Decision {
  const today = input.days.find((d) => d.date === input.today);
  if (today?.pain === undefined) throw new Error('decide needs today’s pain');
  const pain = today.pain;
  const alerts: Decision['alerts'] = [];
  if (pain >= RULES.alertPain)
    alerts.push({ alert: 'pain_high', reason: { key: 'alert.pain_high', params: { pain } } });

  const setback = setbackReason(input, today, pain);
  if (setback) {
    const windowStart = addDays(input.today, -(RULES.setbackWindowDays - 1));
    const earlier = input.days.filter(
      (d) => d.date >= windowStart && d.date < input.today && d.decision === 'setback',
    ).length;
    if (earlier + 1 >= RULES.setbacksForAlert)
      alerts.push({
        alert: 'setbacks',
        reason: { key: 'alert.setbacks', params: { count: earlier + 1, pain } },
      });
    const rose = setback.key === 'reason.setback_rise';
    const culprits = [
      ...trained(today),
      ...(rose ? trained(input.days.find((d) => d.date === addDays(input.today, -1))) : []),
    ];
    const { changes, held } = move(input, culprits, -1);
    return { kind: 'setback', reason: setback, changes, held, alerts, celebrate: null };
  }

  const needed = RULES.goodSessions[input.riskGroup];
  const sessions = input.days.filter((d) => d.session !== undefined && d.date <= input.today);
  const lastSessions = sessions.slice(-needed);
  const current = average([0, 1, 2].map((n) => painOn(input.days, addDays(input.today, -n))));
  const previous = average([3, 4, 5].map((n) => painOn(input.days, addDays(input.today, -n))));
  const trendOk = current !== undefined && (previous === undefined || current <= previous);
  if (lastSessions.length === needed && lastSessions.every(goodSession) && trendOk) {
    const { changes, held } = move(input, readyToProgress(input, today), 1);
    const reason: Reason =
      previous === undefined
        ? {
            key: 'reason.breakthrough_first',
            params: { sessions: needed, pain, avg: round1(current ?? pain) },
          }
        : {
            key: 'reason.breakthrough',
            params: { sessions: needed, pain, avg: round1(current ?? pain), previous: round1(previous) },
          };
    const baseline = input.baselinePain;
    const celebrate =
      baseline > 0 && pain <= baseline * (1 - RULES.celebrateFraction)
        ? {
            key: 'celebrate',
            params: { pain, baseline, percent: Math.round(((baseline - pain) / baseline) * 100) },
          }
        : null;
    return { kind: 'breakthrough', reason, changes, held, alerts, celebrate };
  }
  return {
    kind: 'hold',
    reason: { key: 'reason.hold', params: { pain, baseline: input.baselinePain } },
    changes: [],
    held: [],
    alerts,
    celebrate: null,
  };
}
