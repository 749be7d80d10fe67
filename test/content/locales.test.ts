import { readFileSync } from 'node:fs';
import { IntlMessageFormat } from 'intl-messageformat';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Copy = Record<string, string>;
const read = <T>(file: string) => parse(readFileSync(`content/${file}`, 'utf8')) as T;

const en = read<Copy>('locales/en.yaml');
const de = read<Copy>('locales/de.yaml');

/** The argument names a message uses, including those nested in plural/select branches and tags. */
interface AstNode {
  type: number;
  value?: unknown;
  options?: Record<string, { value: AstNode[] }>;
  children?: AstNode[];
}
// intl-messageformat's AST node types (TYPE enum of @formatjs/icu-messageformat-parser).
const ARGUMENT_TYPES = new Set([1, 2, 3, 4, 5, 6]); // argument, number, date, time, select, plural
const TAG = 8;

function placeholders(message: string, locale: string): string[] {
  const names = new Set<string>();
  const walk = (nodes: AstNode[]) => {
    for (const node of nodes) {
      if (ARGUMENT_TYPES.has(node.type) && typeof node.value === 'string') names.add(node.value);
      if (node.type === TAG && typeof node.value === 'string') names.add(`<${node.value}>`);
      for (const option of Object.values(node.options ?? {})) walk(option.value);
      if (node.children) walk(node.children);
    }
  };
  walk(new IntlMessageFormat(message, locale).getAst() as unknown as AstNode[]);
  return [...names].sort();
}

describe('locales/en.yaml and locales/de.yaml', () => {
  it('are flat maps of non-empty strings', () => {
    for (const [name, copy] of [
      ['en.yaml', en],
      ['de.yaml', de],
    ] as const) {
      expect(typeof copy, name).toBe('object');
      for (const [key, value] of Object.entries(copy)) {
        expect(typeof value, `${name} ${key}`).toBe('string');
        expect(value.trim(), `${name} ${key}`).not.toBe('');
      }
    }
  });

  it('have the same keys', () => {
    const missingInDe = Object.keys(en).filter((k) => !Object.hasOwn(de, k));
    const missingInEn = Object.keys(de).filter((k) => !Object.hasOwn(en, k));
    expect(missingInDe, 'keys in en.yaml missing from de.yaml').toEqual([]);
    expect(missingInEn, 'keys in de.yaml missing from en.yaml').toEqual([]);
  });

  it('use the same {placeholders} in every message', () => {
    const mismatches: string[] = [];
    for (const key of Object.keys(en)) {
      const other = de[key];
      if (other === undefined) continue;
      const a = placeholders(en[key] as string, 'en');
      const b = placeholders(other, 'de');
      if (a.join() !== b.join()) mismatches.push(`${key}: en {${a.join(', ')}} vs de {${b.join(', ')}}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('contain no plain ASCII apostrophe (it quotes in ICU syntax; use ’)', () => {
    const offenders = [
      ...Object.entries(en).map(([k, v]) => ['en.yaml', k, v] as const),
      ...Object.entries(de).map(([k, v]) => ['de.yaml', k, v] as const),
    ]
      .filter(([, , v]) => v.includes("'"))
      .map(([file, k, v]) => `${file} ${k}: ${v}`);
    expect(offenders).toEqual([]);
  });

  it('finds placeholders where they are (self-check of the helper)', () => {
    expect(placeholders('{a} and {b, plural, one {# {c}} other {{d}}} <x>{e}</x>', 'en')).toEqual([
      '<x>',
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    expect(placeholders('no placeholders here', 'en')).toEqual([]);
  });
});

interface Localized {
  en: string;
  de: string;
}
interface LocalizedList {
  en: string[];
  de: string[];
}
interface LaddersDoc {
  ladders: { id: string; name: Localized; levels: { name: Localized; cues: LocalizedList }[] }[];
}

describe('content translations', () => {
  const ladders = read<LaddersDoc>('ladders.yaml');

  it('gives every drill name longer than 12 characters a German text different from the English', () => {
    const copies: string[] = [];
    for (const ladder of ladders.ladders) {
      ladder.levels.forEach((level, i) => {
        if (level.name.en.length > 12 && level.name.de.trim() === level.name.en.trim()) {
          copies.push(`${ladder.id} level ${i + 1}: ${level.name.en}`);
        }
      });
    }
    expect(copies, 'untranslated drill names').toEqual([]);
  });

  it('gives every cue longer than 12 characters a German text different from the English', () => {
    const copies: string[] = [];
    for (const ladder of ladders.ladders) {
      ladder.levels.forEach((level, i) => {
        expect(level.cues.de.length, `${ladder.id} level ${i + 1}: cue count`).toBe(level.cues.en.length);
        const english = new Set(level.cues.en.map((c) => c.trim()));
        for (const cue of level.cues.de) {
          if (cue.length > 12 && english.has(cue.trim())) copies.push(`${ladder.id} level ${i + 1}: ${cue}`);
        }
      });
    }
    expect(copies, 'untranslated cues').toEqual([]);
  });

  it('translates the screening questions too', () => {
    const screening = read<{
      redFlags: {
        emergency: { id: string; text: Localized }[];
        clinician: { id: string; text: Localized }[];
      };
      startBack: { items: { id: string; text: Localized }[] };
    }>('screening.yaml');
    const items = [
      ...screening.redFlags.emergency,
      ...screening.redFlags.clinician,
      ...screening.startBack.items,
    ];
    const copies = items.filter((q) => q.text.en.trim() === q.text.de.trim()).map((q) => q.id);
    expect(copies, 'untranslated screening questions').toEqual([]);
  });
});
