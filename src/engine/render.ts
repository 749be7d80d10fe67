import { ladderOf } from '../content/content.ts';
import { LADDER_IDS, type Level } from '../content/schema.ts';
import { sessionMinutes } from '../programme/session.ts';
import { addDays } from '../time/local.ts';
import type { LevelChange, SessionPlan } from './state.ts';
import type { Turn } from './turn.ts';

function dosageText(turn: Turn, level: Level, minimal: boolean): string {
  const d = level.dosage;
  const sets = minimal ? 1 : d.sets;
  const parts = [
    d.reps !== undefined && d.reps > 1 && d.holdSeconds !== undefined
      ? turn.t('dosage.reps_hold', { sets, reps: d.reps, hold: d.holdSeconds })
      : d.holdSeconds === undefined
        ? turn.t('dosage.reps', { sets, reps: d.reps ?? 1 })
        : turn.t('dosage.hold', { sets, hold: d.holdSeconds }),
  ];
  if (d.perSide) parts.push(turn.t('dosage.per_side'));
  if (d.restSeconds > 0 && sets > 1) parts.push(turn.t('dosage.rest', { rest: d.restSeconds }));
  if (d.tempo) parts.push(turn.t('dosage.tempo', { tempo: d.tempo }));
  return parts.join(' · ');
}

export function sessionText(turn: Turn, plan: SessionPlan): string {
  const locale = turn.state.locale;
  const header = turn.t(plan.minimal ? 'session.header_minimal' : 'session.header', {
    count: plan.drills.length,
    minutes: Math.round(sessionMinutes(turn.content, plan)),
  });
  const drills = plan.drills.map((drill, i) => {
    const ladder = ladderOf(turn.content, drill.ladder);
    const level = ladder.levels[Math.min(drill.level, ladder.levels.length) - 1] as Level;
    const cues = level.cues[locale].map((c) => `   • ${c}`).join('\n');
    return [
      `${i + 1}. ${level.name[locale]} — ${turn.t('session.level', { ladder: drill.ladder, level: drill.level, max: ladder.levels.length })}`,
      `   ${dosageText(turn, level, plan.minimal)}`,
      cues,
      `   ${turn.t('session.stop_if', { text: level.stopIf[locale] })}`,
    ].join('\n');
  });
  return [header, ...drills, turn.t('session.footer')].join('\n\n');
}

export function changeText(turn: Turn, change: Pick<LevelChange, 'ladder' | 'from' | 'to'>): string {
  return turn.t(change.to < change.from ? 'change.down' : 'change.up', {
    ladder: change.ladder,
    level: change.to,
  });
}

export function progressText(turn: Turn): string {
  const { state } = turn;
  const levels = LADDER_IDS.filter((id) => state.levels[id]).map((id) => {
    const ls = state.levels[id];
    const max = ladderOf(turn.content, id).levels.length;
    return turn.t(ls?.locked ? 'progress.level_locked' : 'progress.level', {
      ladder: id,
      level: ls?.level ?? 1,
      max,
    });
  });
  const week = [6, 5, 4, 3, 2, 1, 0].map((n) => addDays(turn.today, -n));
  const lines = week.map((date) => {
    const day = state.days.find((d) => d.date === date);
    return turn.t('progress.day', {
      date,
      pain: day?.pain ?? '–',
      outcome: day?.outcome ? turn.t(`outcome.${day.outcome}`) : day?.session ? turn.t('progress.open') : '–',
    });
  });
  const pains = state.days
    .filter((d) => week.includes(d.date) && d.pain !== undefined)
    .map((d) => d.pain as number);
  const average = pains.length
    ? Math.round((pains.reduce((a, b) => a + b, 0) / pains.length) * 10) / 10
    : undefined;
  const summary =
    average === undefined
      ? turn.t('progress.no_data')
      : turn.t('progress.average', { average, baseline: state.profile.baselinePain ?? '–' });
  const recent = state.levelChanges
    .slice(-3)
    .map((c) => `• ${turn.reason(c.reason)}: ${changeText(turn, c)}`);
  return [
    turn.t('progress.title'),
    levels.join('\n'),
    turn.t('progress.week'),
    lines.join('\n'),
    summary,
    ...(recent.length ? [turn.t('progress.changes'), recent.join('\n')] : []),
  ].join('\n\n');
}
