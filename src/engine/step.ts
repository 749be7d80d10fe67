import { mentionsEmergency } from '../clinical/redFlags.ts';
import type { Content } from '../content/content.ts';
import { addDays, isValidZone } from '../time/local.ts';
import { runCoachAction } from './coach.ts';
import { runCommand } from './commands.ts';
import type { InboundEvent, StepResult } from './events.ts';
import { answer, ask, reAsk } from './flow.ts';
import { accepts, interpret } from './questions.ts';
import { newPatient, type PatientState, type Question } from './state.ts';
import { runTimer } from './timers.ts';
import { Turn } from './turn.ts';

/** What to say when a typed answer is not understood, by the kind of answer expected. */
const REPROMPT: Partial<Record<Question, string>> = {
  baseline: 'reprompt.scale',
  pain: 'reprompt.scale',
  drill_time: 'reprompt.time',
  reminder_time: 'reprompt.time',
  timezone: 'reprompt.timezone',
  quiet_hours: 'reprompt.window',
  vacation: 'reprompt.vacation',
};

const DETOURABLE: ReadonlySet<string> = new Set(['new', 'declined', 'escalated']);

function onText(turn: Turn, text: string): void {
  const { state } = turn;
  if ((state.status === 'new' && state.ask === null) || state.status === 'declined') {
    return runCommand(turn, 'start', '');
  }
  // Free text that sounds like an emergency symptom asks the emergency questions again, at once.
  if (!DETOURABLE.has(state.status) && state.ask?.q !== 'recheck' && mentionsEmergency(turn.content, text)) {
    const prev = state.ask ? { q: state.ask.q, i: state.ask.i } : undefined;
    turn.say(turn.t('recheck.from_text'));
    return ask(turn, 'recheck', 0, prev ? { prev } : {});
  }
  const pending = state.ask;
  if (!pending) return nothingPending(turn);
  const value = interpret(turn, pending, text);
  if (value === undefined || !accepts(turn, pending, value)) {
    turn.say(turn.t(REPROMPT[pending.q] ?? 'reprompt.buttons'));
    return reAsk(turn);
  }
  answer(turn, pending, value);
}

/** Input that answers nothing: say what the patient can do in their situation. */
function nothingPending(turn: Turn): void {
  const { status } = turn.state;
  if (status === 'escalated') return turn.say(turn.t('hold.escalated'));
  if (status === 'clinician_hold') return turn.say(turn.t('hold.clinician'));
  if (status === 'new' || status === 'declined') return runCommand(turn, 'start', '');
  turn.say(turn.t('error.no_question'));
}

function onChoice(turn: Turn, seq: number, value: string): void {
  const pending = turn.state.ask;
  if (!pending) {
    // A button of a question long answered: say so, rather than not understanding a tap.
    if (DETOURABLE.has(turn.state.status) || turn.state.status === 'clinician_hold')
      return nothingPending(turn);
    return turn.say(turn.t('error.answered'));
  }
  if (pending.seq !== seq) {
    // An old button: the question it belonged to has moved on. Say so and show where we are.
    turn.say(turn.t('error.stale'));
    return reAsk(turn);
  }
  if (!accepts(turn, pending, value)) {
    turn.say(turn.t('reprompt.buttons'));
    return reAsk(turn);
  }
  answer(turn, pending, value);
}

/**
 * A patient the platform cannot reach keeps their programme and status, but gets no pushes until
 * they are heard from again; the coach sees the date in their data.
 */
function setReachable(turn: Turn, reachable: boolean): void {
  const { state } = turn;
  if (reachable) delete state.unreachableSince;
  else state.unreachableSince = turn.today;
  turn.audit('status', { reachable });
  turn.syncSchedule();
}

/**
 * The platform's timezone is the patient's own setting (Slack keeps it in the profile), so a change
 * there moves the drills with them: same wall times, new zone. Before onboarding has a schedule,
 * the zone is only a hint for the question that asks it.
 */
function followTimezone(turn: Turn, timezone: string): void {
  const { state } = turn;
  if (!isValidZone(timezone) || state.schedule.timezone === timezone) return;
  if (state.levels.deep_core === undefined || state.status === 'declined') return;
  state.schedule = { ...state.schedule, timezone };
  turn.audit('status', { timezone });
  turn.syncSchedule();
  turn.say(turn.t('settings.timezone_followed', { timezone, drillTime: state.schedule.drillTime }));
}

/**
 * The engine: one event in, the next state and the effects out. Pure: no I/O, no clock (now is
 * passed in), no randomness. A null state is a patient we have never seen; a null result means
 * the patient's data is to be deleted (or, for a timer about an unknown patient, nothing exists).
 *
 * `previous` is left as it was, unless the caller hands it over (`owned`): the store, which reads a
 * state of its own for every step. The copy it spares grows with the patient's history: a third of
 * a step's time after ninety days.
 */
export function step(
  previous: PatientState | null,
  event: InboundEvent,
  now: number,
  content: Content,
  opts: { owned?: boolean } = {},
): StepResult<PatientState | null> {
  // Only the patient can start a record; anything else about someone never seen changes nothing.
  const fromPatient = event.kind === 'command' || event.kind === 'text' || event.kind === 'choice';
  if (previous === null && !fromPatient) return { state: null, effects: [] };
  const start =
    previous === null
      ? newPatient(event.patientId, event.localeHint ?? 'en', now)
      : opts.owned
        ? previous
        : structuredClone(previous);
  const turn = new Turn(start, now, content, event.localeHint !== undefined);
  const { state } = turn;
  if (state.status === 'new' && event.tzHint && isValidZone(event.tzHint)) {
    state.schedule = { ...state.schedule, timezone: event.tzHint };
  }
  if (fromPatient && !['new', 'declined'].includes(state.status)) {
    state.lastHeardOn = turn.today;
  }
  // Anything the patient says proves they can be reached again.
  if (fromPatient && state.unreachableSince !== undefined) setReachable(turn, true);
  switch (event.kind) {
    case 'command':
      runCommand(turn, event.command.toLowerCase(), event.args);
      break;
    case 'text': {
      const command = event.text.trim().match(/^\/([a-z]+)(?:@\S+)?\s*(.*)$/is);
      if (command) runCommand(turn, (command[1] ?? '').toLowerCase(), command[2] ?? '');
      else onText(turn, event.text);
      break;
    }
    case 'choice':
      onChoice(turn, event.seq, event.value);
      break;
    case 'timer':
      // Work missed while the service was down is caught up only while its day is still running.
      if (state.unreachableSince !== undefined) break;
      if (event.date === undefined || event.date === turn.today) runTimer(turn, event.timer);
      break;
    case 'profile':
      followTimezone(turn, event.timezone);
      break;
    case 'reachability':
      if (event.reachable === (state.unreachableSince === undefined)) break;
      setReachable(turn, event.reachable);
      break;
    case 'coach':
      runCoachAction(turn, event.coachId, event.command);
      break;
  }
  const deleted = turn.effects.some((e) => e.type === 'delete');
  if (!deleted) forgetWhatIsNoLongerNeeded(turn.state, turn.today);
  return { state: deleted ? null : turn.state, effects: turn.effects };
}

/** Level changes stay in the state this long: the weekly summaries and /progress look no further back. */
export const LEVEL_CHANGES_KEPT_DAYS = 35;

/**
 * The state keeps what the coaching needs, and no more: every patient's record is stored for as long
 * as they use Backcoach. When a day's drills were pushed and reminded only guards that day against a
 * second push, so past days drop those times; level changes older than five weeks are still in the
 * audit log, with their reasons, and leave the state.
 */
function forgetWhatIsNoLongerNeeded(state: PatientState, today: string): void {
  for (const day of state.days) {
    if (day.date >= today) continue;
    delete day.pushedAt;
    delete day.remindedAt;
  }
  const since = addDays(today, -LEVEL_CHANGES_KEPT_DAYS);
  if (state.levelChanges.some((c) => c.date < since))
    state.levelChanges = state.levelChanges.filter((c) => c.date >= since);
}
