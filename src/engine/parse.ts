import type { Locale } from '../content/schema.ts';

const NUMBER_WORDS: Record<Locale, readonly string[]> = {
  en: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'],
  de: ['null', 'eins', 'zwei', 'drei', 'vier', 'fünf', 'sechs', 'sieben', 'acht', 'neun', 'zehn'],
};
const EXTRA_WORDS: ReadonlyMap<string, number> = new Map([
  ['ein', 1],
  ['eine', 1],
  ['fuenf', 5],
  ['none', 0],
  ['nothing', 0],
  ['keine', 0],
]);

function words(text: string): string[] {
  return text
    .normalize('NFC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/**
 * A 0–10 score from free text: "6", "six", "sechs", "pain 6", "6/10". Both locales' words are
 * accepted, because people mix languages. Returns undefined for anything else or out of range.
 */
export function parseScore(text: string): number | undefined {
  // A minus sign makes the number negative, so out of range, not the number without its sign.
  if (/(^|[^\p{L}\p{N}])-\s*\d/u.test(text)) return undefined;
  const slash = text.match(/(\d+)\s*\/\s*10/);
  if (slash) return toScore(Number(slash[1]));
  for (const word of words(text)) {
    if (/^\d+$/.test(word)) return toScore(Number(word));
    for (const list of Object.values(NUMBER_WORDS)) {
      const i = list.indexOf(word);
      if (i >= 0) return i;
    }
    const extra = EXTRA_WORDS.get(word);
    if (extra !== undefined) return extra;
  }
  return undefined;
}

function toScore(n: number): number | undefined {
  return Number.isInteger(n) && n >= 0 && n <= 10 ? n : undefined;
}

const YES = new Set(['yes', 'y', 'yeah', 'yep', 'sure', 'ok', 'okay', 'ja', 'j', 'jo', 'klar', 'agree']);
const NO = new Set(['no', 'n', 'nope', 'nein', 'nee', 'disagree']);

export function parseYesNo(text: string): 'yes' | 'no' | undefined {
  const first = words(text)[0];
  if (first === undefined) return undefined;
  if (YES.has(first)) return 'yes';
  if (NO.has(first)) return 'no';
  return undefined;
}

/** A wall time from "7", "7:30", "07.30", "7am", "6 pm", "18 Uhr". */
export function parseWallTime(text: string): string | undefined {
  const m = text
    .trim()
    .toLowerCase()
    .match(/^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|uhr)?$/);
  if (!m) return undefined;
  let hour = Number(m[1]);
  const minute = m[2] === undefined ? 0 : Number(m[2]);
  if ((m[3] === 'am' || m[3] === 'pm') && (hour < 1 || hour > 12)) return undefined;
  if (m[3] === 'pm' && hour < 12) hour += 12;
  if (m[3] === 'am' && hour === 12) hour = 0;
  if (hour > 23 || minute > 59) return undefined;
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/** A quiet-hours window from "22-7", "22:00-07:00", "22:30 – 6:30". */
export function parseWindow(text: string): { start: string; end: string } | undefined {
  const parts = text.split(/\s*(?:-|–|to|bis)\s*/i);
  if (parts.length !== 2) return undefined;
  const start = parseWallTime(parts[0] ?? '');
  const end = parseWallTime(parts[1] ?? '');
  return start && end && start !== end ? { start, end } : undefined;
}

/** Matches free text against button labels, so typing "Done" works as well as tapping it. */
export function matchLabel(
  text: string,
  choices: readonly { value: string; label: string }[],
): string | undefined {
  const wanted = text.trim().toLowerCase();
  if (wanted === '') return undefined;
  const exact = choices.find((c) => c.label.toLowerCase() === wanted || c.value.toLowerCase() === wanted);
  if (exact) return exact.value;
  const prefix = choices.filter((c) => c.label.toLowerCase().startsWith(wanted));
  return prefix.length === 1 ? prefix[0]?.value : undefined;
}
