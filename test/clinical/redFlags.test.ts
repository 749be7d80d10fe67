import { describe, expect, it } from 'vitest';
import { mentionsEmergency, newPainIsFlag } from '../../src/clinical/redFlags.ts';
import { loadContent } from '../../src/runtime/content-loader.ts';

const content = loadContent('content');

describe('newPainIsFlag', () => {
  it.each([
    ['u20', true],
    ['20_39', false],
    ['40_50', false],
    ['51_59', true],
    ['60_69', true],
    ['70p', true],
  ] as const)('age band %s: %s', (band, flag) => {
    expect(newPainIsFlag(band)).toBe(flag);
  });

  it('does not flag when the age band is not known', () => {
    expect(newPainIsFlag(undefined)).toBe(false);
  });
});

describe('mentionsEmergency (real content)', () => {
  it.each([
    'I have trouble with my bladder since yesterday',
    'I wet myself this morning',
    "I can't feel my inner thigh",
    'There is numbness around my groin',
    'My saddle area feels strange',
    'Both legs are weak today',
    'My leg gave way on the stairs',
    'I lost control of my bowels',
    'Having trouble to pee',
    'My groin feels numb',
    'I can’t feel my legs properly',
    'Incontinence since this morning',
    'I CANNOT HOLD MY URINE',
  ])('catches the English symptom sentence %j', (text) => {
    expect(mentionsEmergency(content, text)).toBe(true);
  });

  it.each([
    'Ich habe Probleme mit der Blase',
    'Ich kann den Urin nicht halten',
    'Seit gestern habe ich Taubheit im Intimbereich',
    'Beide Beine sind schwach',
    'Mein Bein knickt weg',
    'Ich habe kein Gefühl mehr in der Leiste',
    'Ich habe mich eingenässt',
    'Probleme beim Stuhlgang',
    'Die Innenseite der Oberschenkel ist taub',
  ])('catches the German symptom sentence %j', (text) => {
    expect(mentionsEmergency(content, text)).toBe(true);
  });

  it.each([
    'the bird dog was hard today',
    'I did it during lunch',
    'Done, felt good',
    'The side bridge was too easy',
    'My back is a bit stiff this morning, pain 4',
    'I skipped the dead bug because of a meeting',
    'Bridges were fine, a little tired afterwards',
    'Heute war der Seitstütz schwer',
    'Ich habe die Übungen in der Mittagspause gemacht',
    'Die Brücke war zu leicht',
    'Mein Rücken ist heute etwas steif',
    'I did a number of reps at speed',
    'I held the plank, no problem',
    '',
  ])('does not flag ordinary feedback %j', (text) => {
    expect(mentionsEmergency(content, text)).toBe(false);
  });

  it('matches every configured keyword at the start of a word, in either locale, regardless of case', () => {
    const { keywords } = content.screening.redFlags;
    for (const k of [...keywords.en, ...keywords.de]) {
      const capitalised = k.charAt(0).toUpperCase() + k.slice(1);
      expect(mentionsEmergency(content, `today: ${capitalised}!`), k).toBe(true);
      // upper case only where it round-trips (ß upper-cases to SS)
      if (k.toUpperCase().toLowerCase() === k.toLowerCase()) {
        expect(mentionsEmergency(content, `TODAY: ${k.toUpperCase()}`), k).toBe(true);
      }
    }
  });

  // BUG (src/clinical/redFlags.ts:24): keywords now match only at the start of a word, so a German
  // compound whose symptom stem is not its first part is missed: "Stuhlinkontinenz" (faecal
  // incontinence) and "Urininkontinenz" no longer match the "inkontinen" keyword, although they were
  // caught by the previous substring matching and are exactly the bowel/bladder emergency of DESIGN §3.
  it('catches German compounds that carry a symptom stem inside the word', () => {
    expect(mentionsEmergency(content, 'Seit gestern habe ich Stuhlinkontinenz')).toBe(true);
    expect(mentionsEmergency(content, 'Urininkontinenz seit heute früh')).toBe(true);
  });
});
