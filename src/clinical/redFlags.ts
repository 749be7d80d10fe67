import type { Content } from '../content/content.ts';
import type { AgeBand } from '../engine/state.ts';

/** The clinician item about new pain counts only under 20 or over 50 (DESIGN §3). */
export function newPainIsFlag(ageBand: AgeBand | undefined): boolean {
  return ageBand === 'u20' || ageBand === '51_59' || ageBand === '60_69' || ageBand === '70p';
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const patterns = new WeakMap<Content, RegExp>();

/**
 * Whether free text mentions an emergency symptom, in any locale (people mix languages). Keywords
 * match at the start of a word, so "pee" does not fire on "speed"; they may be word stems
 * ("incontinen" catches "incontinence" and "incontinent").
 */
export function mentionsEmergency(content: Content, text: string): boolean {
  let pattern = patterns.get(content);
  if (!pattern) {
    const { keywords } = content.screening.redFlags;
    const alternatives = [...keywords.en, ...keywords.de].map((k) =>
      escapeRegExp(k.toLowerCase().replace(/’/g, "'")),
    );
    pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})`, 'u');
    patterns.set(content, pattern);
  }
  return pattern.test(text.toLowerCase().replace(/’/g, "'"));
}
