import { summaryText, weeklySummary } from '../coach/summary.ts';
import { ladderOf } from '../content/content.ts';
import type { LadderId } from '../content/schema.ts';
import { addDays, daysBetween, weekdayOf } from '../time/local.ts';
import type { Timer } from './events.ts';
import { ask, inQuietHours, onVacation, pushSession, reAsk, todaysPlan } from './flow.ts';
import type { Turn } from './turn.ts';

/** Days since the patient last said anything, with a holiday not counted as silence. */
function silentDays(turn: Turn): number {
  const { lastHeardOn, vacationUntil } = turn.state;
  const from = [lastHeardOn, vacationUntil]
    .filter((d): d is string => d !== null)
    .sort()
    .pop();
  return from === undefined ? 0 : daysBetween(from, turn.today);
}

/** How far back the weekly chart looks. */
const CHART_DAYS = 84;

/** Monday's look back at the week before: the figures, and a chart of the last twelve weeks. */
function weeklyReview(turn: Turn): void {
  const { state } = turn;
  const weekStart = addDays(turn.today, -7);
  if (!state.days.some((d) => d.date >= weekStart && d.date < turn.today)) return;
  const summary = weeklySummary(state, weekStart, addDays(turn.today, -1));
  const ladderName = (id: string) => ladderOf(turn.content, id as LadderId).name[state.locale];
  const since = addDays(turn.today, -CHART_DAYS);
  const points = state.days
    .filter((d) => d.date >= since && d.date < turn.today)
    .map((d) => ({
      date: d.date,
      ...(d.pain !== undefined ? { pain: d.pain } : {}),
      ...(d.outcome !== undefined ? { session: d.outcome } : {}),
    }));
  turn.effects.push({
    type: 'send',
    message: {
      text: summaryText(turn.content, state.locale, summary, ladderName),
      chart: {
        kind: 'pain',
        points,
        labels: {
          title: turn.t('chart.title'),
          pain: turn.t('chart.pain'),
          sessions: turn.t('chart.sessions'),
          locale: state.locale,
        },
      },
    },
  });
}

/** The day's push: the drills, a weekly red-flag re-check first, and gentle nudges when silent. */
function drillsDue(turn: Turn): void {
  const { state } = turn;
  if (state.status !== 'active' || onVacation(turn) || inQuietHours(turn)) return;
  const day = turn.day();
  // At most one drills push per local date, whatever the schedule or the patient did first.
  if (day.session !== undefined || day.pushedAt !== undefined) return;
  day.pushedAt = turn.now;
  if (weekdayOf(turn.today) === 1) weeklyReview(turn);

  const silent = silentDays(turn);
  const intro: string[] = [];
  if (
    silent >= 7 &&
    (state.nudges.coachSilentOn === null || state.nudges.coachSilentOn < (state.lastHeardOn ?? ''))
  ) {
    state.nudges.coachSilentOn = turn.today;
    turn.alert('silent', { key: 'alert.silent', params: { days: silent } });
  }
  if (silent >= 3 && (state.nudges.silentOn === null || state.nudges.silentOn < (state.lastHeardOn ?? ''))) {
    state.nudges.silentOn = turn.today;
    intro.push(turn.t('nudge.silent'));
  }
  if (state.lastScreenOn === null || daysBetween(state.lastScreenOn, turn.today) >= 7) {
    if (intro.length) turn.say(intro.join('\n\n'));
    return ask(turn, 'recheck', 0, { after: 'session' });
  }
  const plan = todaysPlan(turn);
  if (plan.minimal) intro.push(turn.t('nudge.minimal'));
  pushSession(turn, plan, intro.join('\n\n') || undefined);
}

function checkinReminder(turn: Turn): void {
  const { state } = turn;
  if (state.status !== 'active' || inQuietHours(turn)) return;
  const day = turn.findDay();
  if (!day?.session || day.pain !== undefined || day.remindedAt !== undefined) return;
  day.remindedAt = turn.now;
  turn.say(turn.t('reminder'));
  if (state.ask && ['outcome', 'pain', 'difficulty', 'pain_during'].includes(state.ask.q)) reAsk(turn);
  else ask(turn, day.outcome === undefined ? 'outcome' : 'pain');
}

function snoozeDue(turn: Turn): void {
  const day = turn.findDay();
  if (turn.state.status !== 'active' || inQuietHours(turn) || !day?.session || day.outcome !== undefined)
    return;
  pushSession(turn, day.session);
}

export function runTimer(turn: Turn, timer: Timer): void {
  switch (timer) {
    case 'drills_due':
      return drillsDue(turn);
    case 'checkin_reminder':
      return checkinReminder(turn);
    case 'snooze_due':
      return snoozeDue(turn);
  }
}
