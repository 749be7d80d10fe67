import { COMMANDS, type Command } from './events.ts';
import { ask, nextCheckinQuestion, pushSession, reAsk, showSession, todaysPlan } from './flow.ts';
import { progressText } from './render.ts';
import type { Turn } from './turn.ts';

const COACH_CODE = /^[A-Za-z0-9_-]{1,64}$/;

const consented = (turn: Turn) => !['new', 'declined'].includes(turn.state.status);
const onboarded = (turn: Turn) => turn.state.levels.deep_core !== undefined;

/** Says why the day's drills are not available now; false when they are. */
function blockedFromDrills(turn: Turn): boolean {
  const { status } = turn.state;
  if (status === 'escalated') turn.say(turn.t('hold.escalated'));
  else if (status === 'clinician_hold') turn.say(turn.t('hold.clinician'));
  else if (status === 'stopped') turn.say(turn.t('stopped.hint'));
  else if (!onboarded(turn) || status === 'new' || status === 'declined' || status === 'onboarding') {
    turn.say(turn.t('error.not_ready'));
    reAsk(turn);
  } else return false;
  return true;
}

export function isCommand(name: string): name is Command {
  return (COMMANDS as readonly string[]).includes(name);
}

export function runCommand(turn: Turn, command: string, args: string): void {
  const { state } = turn;
  if (!isCommand(command)) {
    turn.say(turn.t('error.unknown_command', { command }));
    return;
  }
  switch (command) {
    case 'start': {
      const code = args.trim();
      if (code && COACH_CODE.test(code)) {
        state.coachCode = code;
        turn.audit('status', { joinedCoachCode: code });
        turn.effects.push({ type: 'join_coach', code });
      }
      if (state.status === 'new' || state.status === 'declined') {
        if (state.status === 'new' && !turn.localeKnown)
          return ask(turn, 'language', 0, { after: 'consent' });
        turn.say(turn.t('welcome'));
        return ask(turn, 'consent');
      }
      if (state.status === 'stopped') {
        state.status = onboarded(turn) ? 'active' : 'onboarding';
        turn.syncSchedule();
        turn.say(turn.t('start.again'));
        if (state.status === 'onboarding') reAsk(turn);
        return;
      }
      if (state.status === 'onboarding') {
        turn.say(turn.t('start.continue'));
        return reAsk(turn);
      }
      if (blockedFromDrills(turn)) return;
      return turn.say(turn.t('start.already'));
    }
    case 'help':
      return turn.say(turn.t('help'));
    case 'today': {
      if (blockedFromDrills(turn)) return;
      const day = turn.findDay();
      if (day?.session && day.outcome === undefined) {
        return showSession(turn, day.session);
      }
      if (day?.session) return turn.say(turn.t('today.done', { outcome: turn.t(`outcome.${day.outcome}`) }));
      return pushSession(turn, todaysPlan(turn));
    }
    case 'checkin': {
      if (blockedFromDrills(turn)) return;
      const next = nextCheckinQuestion(turn);
      if (!next) return turn.say(turn.t('checkin.already'));
      return ask(turn, next);
    }
    case 'progress':
      if (!onboarded(turn)) return turn.say(turn.t('error.not_ready'));
      return turn.say(progressText(turn));
    case 'settings':
      if (!consented(turn)) return turn.say(turn.t('error.no_consent'));
      return ask(turn, 'settings');
    case 'pause':
      if (state.status !== 'active') return turn.say(turn.t('pause.not_active'));
      state.status = 'paused';
      state.pausedBy = 'patient';
      turn.audit('status', { status: 'paused', by: 'patient' });
      turn.syncSchedule();
      return turn.say(turn.t('pause.done'));
    case 'resume':
      if (state.status === 'paused' && state.pausedBy === 'coach')
        return turn.say(turn.t('resume.coach_paused'));
      if (state.status === 'paused') {
        state.status = 'active';
        state.pausedBy = null;
        turn.audit('status', { status: 'active', by: 'patient' });
        turn.syncSchedule();
        return turn.say(turn.t('resume.done', { drillTime: state.schedule.drillTime }));
      }
      if (state.vacationUntil !== null && state.vacationUntil >= turn.today) {
        state.vacationUntil = null;
        return turn.say(turn.t('vacation.cancelled'));
      }
      return turn.say(turn.t('resume.not_paused'));
    case 'vacation':
      if (state.status !== 'active' && state.status !== 'paused') return turn.say(turn.t('pause.not_active'));
      return ask(turn, 'vacation');
    case 'export':
      turn.effects.push({ type: 'export' });
      return turn.say(turn.t('export.ready'));
    case 'delete':
      return ask(turn, 'delete_confirm');
    case 'stop':
      if (!consented(turn)) return turn.say(turn.t('stop.nothing'));
      state.status = 'stopped';
      state.ask = null;
      turn.audit('status', { status: 'stopped' });
      turn.syncSchedule();
      return turn.say(turn.t('stop.done'));
  }
}
