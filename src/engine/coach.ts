import { maxLevel } from '../content/content.ts';
import type { CoachAction } from './events.ts';
import { continueOnboarding } from './flow.ts';
import type { Turn } from './turn.ts';

/** A coach's action on a patient. Every action is audited with the coach's id; a coach override wins. */
export function runCoachAction(turn: Turn, coachId: string, action: CoachAction): void {
  const { state } = turn;
  turn.audit('coach', { coachId, ...action });
  switch (action.action) {
    case 'clear':
      if (state.status !== 'escalated' && state.status !== 'clinician_hold') return;
      state.status = state.resumeTo ?? 'active';
      state.lastScreenOn = turn.today;
      turn.say(turn.t('coach.cleared'));
      if (state.status === 'onboarding') return continueOnboarding(turn);
      return turn.syncSchedule();
    case 'pause':
      if (state.status !== 'active') return;
      state.status = 'paused';
      state.pausedBy = 'coach';
      turn.syncSchedule();
      return turn.say(turn.t('coach.paused'));
    case 'resume':
      if (state.status !== 'paused') return;
      state.status = 'active';
      state.pausedBy = null;
      turn.syncSchedule();
      return turn.say(turn.t('coach.resumed'));
    case 'note':
      state.coachNotes.push({ at: turn.now, text: action.text });
      return turn.say(turn.t('coach.note', { text: action.text }));
    case 'set_level': {
      const current = state.levels[action.ladder];
      if (!current || action.level > maxLevel(turn.content, action.ladder)) return;
      state.levels[action.ladder] = { level: action.level, changedOn: turn.today, locked: action.lock };
      const reason = { key: 'reason.coach', params: { ladder: action.ladder, level: action.level } };
      state.levelChanges.push({
        date: turn.today,
        ladder: action.ladder,
        from: current.level,
        to: action.level,
        by: 'coach',
        reason,
      });
      return turn.say(turn.reason(reason));
    }
    case 'unlock': {
      const current = state.levels[action.ladder];
      if (current) current.locked = false;
      return;
    }
  }
}
