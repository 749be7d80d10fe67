import type { Content } from '../content/content.ts';
import type { AgeBand } from '../engine/state.ts';

/** The clinician item about new pain counts only under 20 or over 50 (DESIGN §3). */
export function newPainIsFlag(ageBand: AgeBand | undefined): boolean {
  return ageBand === 'u20' || ageBand === '51_59' || ageBand === '60_69' || ageBand === '70p';
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** One spelling for matching: lower case, composed accents, ß as ss, typographic apostrophes plain. */
const fold = (s: string) => s.normalize('NFC').toLowerCase().replace(/ß/g, 'ss').replace(/’/g, "'");
const patterns = new WeakMap<Content, RegExp>();

function patternFor(content: Content): RegExp {
  let pattern = patterns.get(content);
  if (!pattern) {
    const { keywords } = content.screening.redFlags;
    const alternatives = (list: readonly string[]) => list.map((k) => escapeRegExp(fold(k))).join('|');
    // English keywords start a word ("pee" is not in "speed"); German ones may sit inside a
    // compound ("Stuhlinkontinenz"), so they match anywhere.
    pattern = new RegExp(
      `(?<![\\p{L}\\p{N}])(?:${alternatives(keywords.en)})|${alternatives(keywords.de)}`,
      'u',
    );
    patterns.set(content, pattern);
  }
  return pattern;
}

/** Whether free text mentions an emergency symptom, in either language (people mix languages). */
export function mentionsEmergency(content: Content, text: string): boolean {
  return patternFor(content).test(fold(text));
}
