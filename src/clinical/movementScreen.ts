import type { LadderId } from '../content/schema.ts';
import type { AgeBand, Profile, RiskGroup } from '../engine/state.ts';

/** Single-leg stance, eyes open, norms in seconds (Springer et al. 2007) by age band. */
export const STANCE_NORM_SECONDS: Record<AgeBand, number> = {
  u20: 44,
  '20_39': 44,
  '40_50': 41,
  '51_59': 41,
  '60_69': 32,
  '70p': 21,
};

/** Left/right side-bridge ratio outside this range is an asymmetry. */
export const SYMMETRY_RANGE = { min: 0.8, max: 1.25 } as const;
/** Side-bridge endurance below this (seconds, on knees) counts as low trunk endurance. */
export const SIDE_BRIDGE_ENDURANCE_SECONDS = 30;

export const BIG_THREE: readonly LadderId[] = ['deep_core', 'extensors', 'lateral_core'];

type ScreenAnswers = Pick<
  Profile,
  | 'sideLeft'
  | 'sideRight'
  | 'stanceSeconds'
  | 'slBridgeOk'
  | 'kneeChestThighLifts'
  | 'kneeFalloutRocks'
  | 'ageBand'
>;

/**
 * The self-screen's answers as deficits. The screen has no extensor test of its own, so low
 * side-bridge endurance stands in for low trunk-extensor endurance too.
 */
export function deficitsFrom(a: ScreenAnswers): LadderId[] {
  const deficits: LadderId[] = [];
  const left = a.sideLeft ?? 0;
  const right = a.sideRight ?? 0;
  const ratio = right === 0 ? (left === 0 ? 1 : Number.POSITIVE_INFINITY) : left / right;
  const lowEndurance = Math.min(left, right) < SIDE_BRIDGE_ENDURANCE_SECONDS;
  if (a.kneeFalloutRocks) deficits.push('deep_core');
  if (lowEndurance) deficits.push('extensors');
  if (lowEndurance || ratio < SYMMETRY_RANGE.min || ratio > SYMMETRY_RANGE.max) deficits.push('lateral_core');
  if (a.slBridgeOk === false) deficits.push('glutes');
  if (a.kneeChestThighLifts) deficits.push('hip_flexor_mobility');
  if ((a.stanceSeconds ?? 0) < STANCE_NORM_SECONDS[a.ageBand ?? '20_39']) deficits.push('balance');
  return deficits;
}

/** Ladders the screen tested; the others (flexor endurance, loading) always start at the bottom. */
const SCREENED: readonly LadderId[] = [
  'deep_core',
  'extensors',
  'lateral_core',
  'glutes',
  'hip_flexor_mobility',
  'balance',
];

/**
 * Everyone starts low and precise: level 1 where there is a deficit, for anything untested, and
 * for everything unless the STarT Back group is low; level 2 where a low-risk patient screened well.
 */
export function startingLevel(ladder: LadderId, deficits: readonly LadderId[], risk: RiskGroup): number {
  if (risk !== 'low' || deficits.includes(ladder) || !SCREENED.includes(ladder)) return 1;
  return 2;
}
