import type { RiskGroup } from '../engine/state.ts';

/**
 * STarT Back Screening Tool (Keele University) scoring: nine items scored 0/1, total 0–9, the
 * psychosocial subscale is items 5–9. Low when the total is ≤ 3, high when the subscale is ≥ 4,
 * medium otherwise. Used for pace and coach attention only, never shown as a diagnosis.
 */
export function startBackGroup(itemScores: readonly number[]): {
  total: number;
  subscale: number;
  group: RiskGroup;
} {
  if (itemScores.length !== 9) throw new Error('STarT Back needs nine item scores');
  const total = itemScores.reduce((a, b) => a + b, 0);
  const subscale = itemScores.slice(4).reduce((a, b) => a + b, 0);
  const group: RiskGroup = total <= 3 ? 'low' : subscale >= 4 ? 'high' : 'medium';
  return { total, subscale, group };
}

/** Item 9 (bothersomeness) counts 1 for "very much" and "extremely" (options 3 and 4 of 0–4). */
export function bothersomenessScore(option: number): number {
  return option >= 3 ? 1 : 0;
}
