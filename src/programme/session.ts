import { BIG_THREE } from '../clinical/movementScreen.ts';
import { type Content, ladderOf } from '../content/content.ts';
import { LADDER_IDS, type LadderId } from '../content/schema.ts';
import type { PatientState, SessionPlan } from '../engine/state.ts';

export const SESSION_LIMITS = { minDrills: 4, maxDrills: 6, minMinutes: 10, maxMinutes: 20 } as const;
/** The minimum session after two skipped days: the big three, one set each, about five minutes. */
export const MINIMAL_SESSION_MINUTES = 5;

function levelOf(state: PatientState, ladder: LadderId): number {
  return state.levels[ladder]?.level ?? 1;
}

export function drillMinutes(content: Content, ladder: LadderId, level: number): number {
  const levels = ladderOf(content, ladder).levels;
  return levels[Math.min(level, levels.length) - 1]?.minutes ?? 0;
}

export function sessionMinutes(content: Content, plan: SessionPlan): number {
  if (plan.minimal) return MINIMAL_SESSION_MINUTES;
  return plan.drills.reduce((sum, d) => sum + drillMinutes(content, d.ladder, d.level), 0);
}

/**
 * The day's session: the big three always (McGill), the patient's other deficits next, then the
 * remaining ladders in rotation by day number, so every ladder comes round. Trimmed or filled to
 * 4–6 drills and 10–20 minutes; the big three are never dropped.
 */
export function buildSession(state: PatientState, content: Content, dayNumber: number): SessionPlan {
  const deficits = state.profile.deficits;
  const bigThree = [...BIG_THREE].sort((a, b) => Number(deficits.includes(b)) - Number(deficits.includes(a)));
  const otherDeficits = LADDER_IDS.filter((l) => !BIG_THREE.includes(l) && deficits.includes(l));
  const rest = LADDER_IDS.filter((l) => !BIG_THREE.includes(l) && !deficits.includes(l));
  const rotated = rest.map((_, i) => rest[(i + dayNumber) % rest.length] as LadderId);

  const chosen: LadderId[] = [...bigThree];
  const minutes = () => chosen.reduce((sum, l) => sum + drillMinutes(content, l, levelOf(state, l)), 0);
  for (const ladder of [...otherDeficits, ...rotated]) {
    if (chosen.length >= SESSION_LIMITS.maxDrills) break;
    const fits =
      minutes() + drillMinutes(content, ladder, levelOf(state, ladder)) <= SESSION_LIMITS.maxMinutes;
    const needed = chosen.length < SESSION_LIMITS.minDrills || minutes() < SESSION_LIMITS.minMinutes;
    const deficit = otherDeficits.includes(ladder);
    if (fits && (needed || deficit || chosen.length < 5)) chosen.push(ladder);
  }
  return { drills: chosen.map((ladder) => ({ ladder, level: levelOf(state, ladder) })), minimal: false };
}

export function minimalSession(state: PatientState): SessionPlan {
  return { drills: BIG_THREE.map((ladder) => ({ ladder, level: levelOf(state, ladder) })), minimal: true };
}
