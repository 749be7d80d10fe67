import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { LADDER_IDS } from '../../src/content/schema.ts';
import { ContentError, loadContent } from '../../src/runtime/content-loader.ts';

interface LevelDoc {
  name: { en?: string; de?: string };
  dosage: { tempo?: string };
  cues: { en: string[]; de: string[] };
  eccentric?: boolean;
}
interface LaddersDoc {
  ladders: { id: string; levels: LevelDoc[] }[];
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A private copy of the real content/ to break. */
function copyContent(): string {
  const dir = mkdtempSync(join(tmpdir(), 'backcoach-content-'));
  dirs.push(dir);
  cpSync('content', dir, { recursive: true });
  return dir;
}

function editLadders(dir: string, edit: (doc: LaddersDoc) => void): void {
  const file = join(dir, 'ladders.yaml');
  const doc = parse(readFileSync(file, 'utf8')) as LaddersDoc;
  edit(doc);
  writeFileSync(file, stringify(doc));
}

/** Loads `dir`, expecting a one-line ContentError; returns its message. */
function contentError(dir: string): string {
  let caught: unknown;
  try {
    loadContent(dir);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ContentError);
  const { message, name } = caught as ContentError;
  expect(name).toBe('ContentError');
  expect(message.trim()).not.toBe('');
  expect(message, 'the message must be one line').not.toMatch(/[\r\n]/);
  return message;
}

describe('loadContent', () => {
  it('loads the real content/ with every ladder, both screens and both locales', () => {
    const content = loadContent('content');
    expect([...content.ladders.keys()].sort()).toEqual([...LADDER_IDS].sort());
    expect(content.sources.length).toBeGreaterThan(0);
    expect(content.screening.startBack.items).toHaveLength(9);
    expect(content.messages.en.size).toBeGreaterThan(0);
    expect([...content.messages.de.keys()].sort()).toEqual([...content.messages.en.keys()].sort());
  });

  it('loads an untouched copy, including one rewritten by the YAML library (the baseline for the breaks below)', () => {
    const dir = copyContent();
    expect(() => loadContent(dir)).not.toThrow();
    editLadders(dir, () => {});
    expect(() => loadContent(dir)).not.toThrow();
  });

  it('names the file and path of a level with only one cue', () => {
    const dir = copyContent();
    editLadders(dir, (doc) => {
      const level = doc.ladders[1]?.levels[2];
      if (!level) throw new Error('fixture: no ladders[1].levels[2]');
      level.cues.en = level.cues.en.slice(0, 1);
    });
    const message = contentError(dir);
    expect(message).toContain('ladders.yaml');
    expect(message).toContain('ladders[1].levels[2].cues.en');
  });

  it('names the ladder that has only three levels', () => {
    const dir = copyContent();
    editLadders(dir, (doc) => {
      const ladder = doc.ladders[4];
      if (!ladder) throw new Error('fixture: no ladders[4]');
      ladder.levels = ladder.levels.slice(0, 3);
    });
    const message = contentError(dir);
    expect(message).toContain('ladders.yaml');
    expect(message).toMatch(/ladders\[4\]\.levels\b/);
  });

  it('reports a missing ladder', () => {
    const dir = copyContent();
    editLadders(dir, (doc) => {
      doc.ladders = doc.ladders.filter((l) => l.id !== 'balance');
    });
    const message = contentError(dir);
    expect(message).toContain('ladders.yaml');
    expect(message).toMatch(/: ladders: missing ladder: balance$/);
  });

  it('reports a file that is not YAML', () => {
    const dir = copyContent();
    writeFileSync(join(dir, 'ladders.yaml'), 'ladders: [unclosed\n  - { id: deep_core\n\tsources: "x\n');
    const message = contentError(dir);
    expect(message).toContain('ladders.yaml');
    expect(message).toContain('cannot read');
  });

  it('reports a YAML file that is plain text instead of a mapping', () => {
    const dir = copyContent();
    writeFileSync(join(dir, 'screening.yaml'), 'Just some words, not the screening questions.\n');
    const message = contentError(dir);
    expect(message).toContain('screening.yaml');
    expect(message).toContain('(top level)');
  });

  it('reports a missing file', () => {
    const dir = copyContent();
    rmSync(join(dir, 'locales', 'de.yaml'));
    const message = contentError(dir);
    expect(message).toContain('de.yaml');
  });

  it('names the path of a drill name without its German translation', () => {
    const dir = copyContent();
    editLadders(dir, (doc) => {
      const level = doc.ladders[2]?.levels[0];
      if (!level) throw new Error('fixture: no ladders[2].levels[0]');
      delete level.name.de;
    });
    const message = contentError(dir);
    expect(message).toContain('ladders.yaml');
    expect(message).toContain('ladders[2].levels[0].name.de');
  });

  it('names the path of a screening question without its German text', () => {
    const dir = copyContent();
    const file = join(dir, 'screening.yaml');
    const doc = parse(readFileSync(file, 'utf8')) as { redFlags: { emergency: { text: { de?: string } }[] } };
    const item = doc.redFlags.emergency[1];
    if (!item) throw new Error('fixture: no redFlags.emergency[1]');
    delete item.text.de;
    writeFileSync(file, stringify(doc));
    const message = contentError(dir);
    expect(message).toContain('screening.yaml');
    expect(message).toContain('redFlags.emergency[1].text.de');
  });

  it('names the eccentric level that has no tempo', () => {
    const dir = copyContent();
    let where = '';
    editLadders(dir, (doc) => {
      doc.ladders.forEach((ladder, i) => {
        for (const level of ladder.levels) {
          if (level.eccentric && !where) {
            delete level.dosage.tempo;
            where = `ladders[${i}].levels[${ladder.levels.indexOf(level)}].dosage.tempo`;
          }
        }
      });
      if (!where) throw new Error('fixture: the real content has no eccentric level');
    });
    const message = contentError(dir);
    expect(message).toContain('ladders.yaml');
    expect(message).toContain(where);
    expect(message).toContain('tempo');
  });

  it('names de.yaml and the key when a copy key is in en.yaml only', () => {
    const dir = copyContent();
    appendFileSync(join(dir, 'locales', 'en.yaml'), '\nzz_test.only_english: Only in English\n');
    const message = contentError(dir);
    expect(message).toContain('de.yaml');
    expect(message).not.toContain('en.yaml');
    expect(message).toContain('zz_test.only_english');
  });

  it('names en.yaml and the key when a copy key is in de.yaml only', () => {
    const dir = copyContent();
    appendFileSync(join(dir, 'locales', 'de.yaml'), '\nzz_test.nur_deutsch: Nur auf Deutsch\n');
    const message = contentError(dir);
    expect(message).toContain('en.yaml');
    expect(message).not.toContain('de.yaml');
    expect(message).toContain('zz_test.nur_deutsch');
  });

  it('names the file and key of a message with an ICU syntax error', () => {
    const dir = copyContent();
    appendFileSync(join(dir, 'locales', 'en.yaml'), "\nzz_test.greeting: 'Hello {name}'\n");
    appendFileSync(join(dir, 'locales', 'de.yaml'), "\nzz_test.greeting: 'Hallo {name'\n");
    const message = contentError(dir);
    expect(message).toContain('de.yaml');
    expect(message).not.toContain('en.yaml');
    expect(message).toContain('zz_test.greeting');
  });

  it('names the file and key of a plural without an other clause', () => {
    const dir = copyContent();
    appendFileSync(join(dir, 'locales', 'en.yaml'), "\nzz_test.days: '{n, plural, one {# day}}'\n");
    appendFileSync(
      join(dir, 'locales', 'de.yaml'),
      "\nzz_test.days: '{n, plural, one {# Tag} other {# Tage}}'\n",
    );
    const message = contentError(dir);
    expect(message).toContain('en.yaml');
    expect(message).toContain('zz_test.days');
  });
});
