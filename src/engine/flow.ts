import { deficitsFrom, startingLevel } from '../clinical/movementScreen.ts';
import { newPainIsFlag } from '../clinical/redFlags.ts';
import { bothersomenessScore, startBackGroup } from '../clinical/startBack.ts';
import { maxLevel } from '../content/content.ts';
import { LADDER_IDS, type Locale } from '../content/schema.ts';
import { buildSession, minimalSession } from '../programme/session.ts';
import { decide } from '../progression/decide.ts';
import { addDays, daysBetween, inWindow, localMinutes, wallMinutes } from '../time/local.ts';
import { NO_QUIET, prompt, settingsParams } from './questions.ts';
import { changeText, sessionText } from './render.ts';
import type { Ask, Difficulty, Outcome, PainDuring, Question, SessionPlan } from './state.ts';
import { AGE_BANDS } from './state.ts';
import type { Turn } from './turn.ts';

const SNOOZE_MS = 60 * 60 * 1000;

/** Asks a question; `lead` is text sent with it in the same message (the session above its buttons). */
export function ask(
  turn: Turn,
  q: Question,
  i = 0,
  extra: Pick<Ask, 'after' | 'prev'> = {},
  lead?: string,
): void {
  const pending = turn.setAsk(q, i, extra);
  const { text, choices } = prompt(turn, pending);
  turn.say(lead ? `${lead}\n\n${text}` : text, choices, pending.seq);
}

/**
 * Today's session as one message with its outcome buttons under it: one push a day, not two, and
 * the buttons sit where the drills are.
 */
export function showSession(turn: Turn, plan: SessionPlan, intro?: string): void {
  ask(turn, 'outcome', 0, {}, [intro, sessionText(turn, plan)].filter(Boolean).join('\n\n'));
}

/** Sends the pending question again, with the same number so its new buttons work. */
export function reAsk(turn: Turn): void {
  const pending = turn.state.ask;
  if (!pending) return;
  const { text, choices } = prompt(turn, pending);
  turn.say(text, choices, pending.seq);
}

export function inQuietHours(turn: Turn): boolean {
  const quiet = turn.state.schedule.quietHours;
  return (
    quiet !== null && inWindow(localMinutes(turn.now, turn.state.schedule.timezone), quiet.start, quiet.end)
  );
}

export function onVacation(turn: Turn): boolean {
  return turn.state.vacationUntil !== null && turn.today <= turn.state.vacationUntil;
}

// ---- red flags -------------------------------------------------------------------------------

export function escalate(turn: Turn, itemId: string): void {
  const { state } = turn;
  if (!state.profile.redFlags.includes(itemId)) state.profile.redFlags.push(itemId);
  state.resumeTo = state.status === 'onboarding' ? 'onboarding' : 'active';
  state.status = 'escalated';
  state.ask = null;
  turn.say(turn.t('red_flag.emergency'));
  turn.alert('emergency_red_flag', { key: 'alert.emergency', params: { item: itemId } });
  turn.audit('red_flag', { level: 'emergency', item: itemId });
  turn.syncSchedule();
}

function holdForClinician(turn: Turn): void {
  const { state } = turn;
  state.resumeTo = 'onboarding';
  state.status = 'clinician_hold';
  state.ask = null;
  const items = state.profile.redFlags.join(', ');
  turn.say(turn.t('red_flag.clinician'));
  turn.alert('clinician_red_flag', { key: 'alert.clinician', params: { items } });
  turn.audit('red_flag', { level: 'clinician', items: state.profile.redFlags });
  turn.syncSchedule();
}

/** Where onboarding picks up after a coach clears a hold. */
export function continueOnboarding(turn: Turn): void {
  ask(turn, turn.state.profile.ageBand === undefined ? 'age' : 'baseline');
}

// ---- onboarding ------------------------------------------------------------------------------

function finishScreen(turn: Turn): void {
  const { profile } = turn.state;
  profile.deficits = deficitsFrom(profile);
  const risk = profile.riskGroup ?? 'medium';
  for (const ladder of LADDER_IDS) {
    turn.state.levels[ladder] = {
      level: startingLevel(ladder, profile.deficits, risk),
      changedOn: null,
      locked: false,
    };
  }
  const focus = profile.deficits.length
    ? profile.deficits.map((l) => turn.t('ladder_name', { ladder: l })).join(', ')
    : turn.t('screen.no_deficits');
  turn.say(turn.t('screen.summary', { focus }));
  ask(turn, 'drill_time');
}

function finishOnboarding(turn: Turn): void {
  const { state } = turn;
  state.status = 'active';
  state.lastScreenOn = turn.today;
  turn.audit('status', { status: 'active', deficits: state.profile.deficits, risk: state.profile.riskGroup });
  turn.syncSchedule();
  turn.say(turn.t('onboarding.done', { ...settingsParams(turn) }));
}

function settingsSaved(turn: Turn): void {
  if (turn.state.status === 'active') turn.syncSchedule();
  turn.say(turn.t('settings.saved', settingsParams(turn)));
}

/** After a schedule answer: back to settings, or on with onboarding. */
function afterSchedule(turn: Turn, pending: Ask, next: () => void): void {
  if (pending.after === 'settings') settingsSaved(turn);
  else next();
}

function drillTimeClashes(turn: Turn, drillTime: string, quiet = turn.state.schedule.quietHours): boolean {
  return quiet !== null && inWindow(wallMinutes(drillTime), quiet.start, quiet.end);
}

// ---- the day ---------------------------------------------------------------------------------

export function pushSession(turn: Turn, plan: SessionPlan, intro?: string): void {
  const day = turn.day();
  day.session = plan;
  showSession(turn, plan, intro);
}

/** Today's session as the schedule would build it, counting days since the patient joined. */
export function todaysPlan(turn: Turn): SessionPlan {
  const previous = [1, 2].map((n) => turn.findDay(addDays(turn.today, -n)));
  const skippedTwice = previous.every(
    (d) => d?.session !== undefined && (d.outcome === undefined || d.outcome === 'skipped'),
  );
  if (skippedTwice) return minimalSession(turn.state);
  return buildSession(turn.state, turn.content, turn.state.days.filter((d) => d.session).length);
}

/** The next check-in question for today, or undefined when today's check-in is complete. */
export function nextCheckinQuestion(turn: Turn): Question | undefined {
  const day = turn.findDay();
  if (day?.session && day.outcome === undefined) return 'outcome';
  if (day?.pain === undefined) return 'pain';
  if (day.decision !== undefined) return undefined;
  if (day.outcome === 'done' || day.outcome === 'partly') {
    if (day.difficulty === undefined) return 'difficulty';
    if (day.painDuring === undefined) return 'pain_during';
  }
  return undefined;
}

function continueCheckin(turn: Turn): void {
  const next = nextCheckinQuestion(turn);
  if (next) ask(turn, next);
  else finishCheckin(turn);
}

function finishCheckin(turn: Turn): void {
  const { state } = turn;
  const day = turn.day();
  const decision = decide({
    today: turn.today,
    days: state.days,
    levels: state.levels,
    baselinePain: state.profile.baselinePain ?? 0,
    riskGroup: state.profile.riskGroup ?? 'medium',
    maxLevel: (ladder) => maxLevel(turn.content, ladder),
  });
  day.decision = decision.kind;
  for (const change of decision.changes) {
    state.levels[change.ladder] = { level: change.to, changedOn: turn.today, locked: false };
    state.levelChanges.push({ date: turn.today, ...change, by: 'progression', reason: decision.reason });
  }
  turn.audit('decision', {
    date: turn.today,
    kind: decision.kind,
    reason: decision.reason,
    changes: decision.changes,
    held: decision.held,
  });
  for (const { alert, reason } of decision.alerts) turn.alert(alert, reason);

  const lines = [turn.t(`decision.${decision.kind}`, { reason: turn.reason(decision.reason) })];
  for (const change of decision.changes) lines.push(`• ${changeText(turn, change)}`);
  for (const held of decision.held) lines.push(`• ${turn.reason(held)}`);
  if (decision.kind === 'setback') lines.push(turn.t('setback.not_linear'));
  if (decision.celebrate) lines.push(turn.reason(decision.celebrate));
  lines.push(turn.t('checkin.thanks', { drillTime: state.schedule.drillTime }));
  turn.say(lines.join('\n'));
}

// ---- answers ---------------------------------------------------------------------------------

/** Applies a valid answer to the pending question. */
export function answer(turn: Turn, pending: Ask, value: string): void {
  const { state } = turn;
  const { profile, schedule } = state;
  state.ask = null;
  turn.markAnswered(pending.seq);
  const yes = value === 'yes';
  const screening = turn.content.screening;
  switch (pending.q) {
    case 'consent':
      if (!yes) return decline(turn);
      state.status = 'onboarding';
      turn.audit('consent', { given: true });
      turn.say(turn.t('consent.thanks'));
      return ask(turn, 'emergency', 0);
    case 'emergency': {
      const item = screening.redFlags.emergency[pending.i];
      if (yes) return escalate(turn, item?.id ?? `emergency_${pending.i}`);
      return pending.i + 1 < screening.redFlags.emergency.length
        ? ask(turn, 'emergency', pending.i + 1)
        : ask(turn, 'age');
    }
    case 'age':
      profile.ageBand = AGE_BANDS.find((b) => b === value);
      return ask(turn, 'clinician', 0);
    case 'clinician': {
      const item = screening.redFlags.clinician[pending.i];
      const id = item?.id ?? `clinician_${pending.i}`;
      if (id === 'new_pain') profile.newPain = yes;
      const flagged = yes && (id !== 'new_pain' || newPainIsFlag(profile.ageBand));
      if (flagged && !profile.redFlags.includes(id)) profile.redFlags.push(id);
      if (pending.i + 1 < screening.redFlags.clinician.length) return ask(turn, 'clinician', pending.i + 1);
      return profile.redFlags.length > 0 ? holdForClinician(turn) : ask(turn, 'baseline');
    }
    case 'baseline':
      profile.baselinePain = Number(value);
      profile.startBack = [];
      return ask(turn, 'startback', 0);
    case 'startback': {
      profile.startBack[pending.i] = pending.i === 8 ? bothersomenessScore(Number(value)) : Number(value);
      if (pending.i < 8) return ask(turn, 'startback', pending.i + 1);
      profile.riskGroup = startBackGroup(profile.startBack).group;
      return ask(turn, 'side_left');
    }
    case 'side_left':
    case 'side_right': {
      const seconds = screening.movementScreen.sideBridge.buckets[Number(value)]?.seconds ?? 0;
      if (pending.q === 'side_left') {
        profile.sideLeft = seconds;
        return ask(turn, 'side_right');
      }
      profile.sideRight = seconds;
      return ask(turn, 'stance');
    }
    case 'stance':
      profile.stanceSeconds = screening.movementScreen.singleLegStance.buckets[Number(value)]?.seconds ?? 0;
      return ask(turn, 'sl_bridge');
    case 'sl_bridge':
      profile.slBridgeOk = yes;
      return ask(turn, 'knee_chest');
    case 'knee_chest':
      profile.kneeChestThighLifts = yes;
      return ask(turn, 'knee_fallout');
    case 'knee_fallout':
      profile.kneeFalloutRocks = yes;
      return finishScreen(turn);
    case 'drill_time':
      if (drillTimeClashes(turn, value)) {
        turn.say(turn.t('error.drill_in_quiet', { time: value }));
        return ask(turn, 'drill_time', 0, detourOf(pending));
      }
      state.schedule = { ...schedule, drillTime: value };
      return afterSchedule(turn, pending, () => ask(turn, 'timezone'));
    case 'reminder_time':
      state.schedule = { ...schedule, reminderTime: value };
      return settingsSaved(turn);
    case 'timezone':
      state.schedule = { ...schedule, timezone: value };
      return afterSchedule(turn, pending, () => ask(turn, 'quiet_hours'));
    case 'quiet_hours': {
      const [start, end] = value.split('-');
      const quiet = value === NO_QUIET || !start || !end ? null : { start, end };
      if (drillTimeClashes(turn, schedule.drillTime, quiet)) {
        turn.say(turn.t('error.quiet_clash', { time: schedule.drillTime }));
        return ask(turn, 'quiet_hours', 0, detourOf(pending));
      }
      state.schedule = { ...schedule, quietHours: quiet };
      return afterSchedule(turn, pending, () => finishOnboarding(turn));
    }
    case 'language':
      state.locale = value as Locale;
      if (pending.after !== 'consent') return settingsSaved(turn);
      turn.say(turn.t('welcome'));
      return ask(turn, 'consent');
    case 'settings':
      if (value === 'done') return turn.say(turn.t('settings.closed'));
      return ask(turn, value as Question, 0, { after: 'settings' });
    case 'recheck': {
      const item = screening.redFlags.emergency[pending.i];
      if (yes) return escalate(turn, item?.id ?? `emergency_${pending.i}`);
      if (pending.i + 1 < screening.redFlags.emergency.length)
        return ask(turn, 'recheck', pending.i + 1, detourOf(pending));
      state.lastScreenOn = turn.today;
      turn.say(turn.t('recheck.ok'));
      if (pending.after === 'session') return pushSession(turn, todaysPlan(turn));
      if (pending.prev) return ask(turn, pending.prev.q, pending.prev.i);
      return;
    }
    case 'outcome': {
      if (value === 'snooze') {
        turn.effects.push({ type: 'wake_at', at: turn.now + SNOOZE_MS, timer: 'snooze_due' });
        return turn.say(turn.t('session.snoozed'));
      }
      turn.day().outcome = value as Outcome;
      turn.say(turn.t(`outcome.ack_${value}`));
      return continueCheckin(turn);
    }
    case 'pain':
      turn.day().pain = Number(value);
      return continueCheckin(turn);
    case 'difficulty':
      turn.day().difficulty = value as Difficulty;
      return continueCheckin(turn);
    case 'pain_during':
      turn.day().painDuring = value as PainDuring;
      return continueCheckin(turn);
    case 'vacation':
      return answerVacation(turn, value);
    case 'delete_confirm':
      if (!yes) return turn.say(turn.t('delete.cancelled'));
      turn.effects.push({ type: 'delete' }, { type: 'schedule', schedule: null });
      return turn.say(turn.t('delete.done'));
  }
}

function detourOf(pending: Ask): Pick<Ask, 'after' | 'prev'> {
  return {
    ...(pending.after ? { after: pending.after } : {}),
    ...(pending.prev ? { prev: pending.prev } : {}),
  };
}

function decline(turn: Turn): void {
  const { state } = turn;
  // Nothing beyond the refusal is kept: the record is reset to its bare minimum.
  turn.state = {
    ...state,
    status: 'declined',
    ask: null,
    profile: { startBack: [], deficits: [], redFlags: [] },
    coachCode: null,
  };
  turn.audit('consent', { given: false });
  turn.say(turn.t('consent.declined'));
}

function answerVacation(turn: Turn, value: string): void {
  const { state } = turn;
  if (value === 'cancel') {
    state.vacationUntil = null;
    return turn.say(turn.t('vacation.cancelled'));
  }
  const back = /^\d+$/.test(value) ? addDays(turn.today, Number(value)) : value;
  if (daysBetween(turn.today, back) < 1 || daysBetween(turn.today, back) > 366) {
    turn.say(turn.t('error.vacation_date'));
    return ask(turn, 'vacation');
  }
  state.vacationUntil = addDays(back, -1);
  turn.audit('status', { vacationUntil: state.vacationUntil });
  turn.say(turn.t('vacation.set', { back }));
}
