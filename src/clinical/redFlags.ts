import type { Content } from '../content/content.ts';
import type { AgeBand } from '../engine/state.ts';

/** The clinician item about new pain counts only under 20 or over 50 (DESIGN §3). */
export function newPainIsFlag(ageBand: AgeBand | undefined): boolean {
  return ageBand === 'u20' || ageBand === '51_59' || ageBand === '60_69' || ageBand === '70p';
}

/** Whether free text mentions an emergency symptom, in any locale (people mix languages). */
export function mentionsEmergency(content: Content, text: string): boolean {
  const lower = text.toLowerCase();
  const { keywords } = content.screening.redFlags;
  return [...keywords.en, ...keywords.de].some((k) => lower.includes(k.toLowerCase()));
}
