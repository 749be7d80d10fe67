import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';
import { type Content, compileMessages } from '../content/content.ts';
import {
  copyFileSchema,
  type Ladder,
  type LadderId,
  LOCALES,
  type Locale,
  laddersFileSchema,
  screeningFileSchema,
} from '../content/schema.ts';

/** A content problem, always naming the file and, where there is one, the field path. */
export class ContentError extends Error {
  override name = 'ContentError';
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) =>
      typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part),
    '',
  );
}

/** A content path as the operator will recognise it: relative to where they started the coach. */
function shown(path: string): string {
  return relative(process.cwd(), path) || path;
}

function readYaml<T>(dir: string, file: string, schema: z.ZodType<T>): T {
  const path = join(dir, file);
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ContentError(`${shown(path)}: cannot read: ${why}`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = issue && issue.path.length > 0 ? issuePath(issue.path) : '(top level)';
    throw new ContentError(`${shown(path)}: ${at}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/**
 * Reads and validates every content file. Throws a ContentError naming the file and the field of
 * the first problem; start-up prints that one line and stops.
 */
export function loadContent(dir: string): Content {
  const ladders = readYaml(dir, 'ladders.yaml', laddersFileSchema);
  const screening = readYaml(dir, 'screening.yaml', screeningFileSchema);
  const copies = Object.fromEntries(
    LOCALES.map((locale) => [locale, readYaml(dir, join('locales', `${locale}.yaml`), copyFileSchema)]),
  ) as Record<Locale, Record<string, string>>;

  const [first, ...others] = LOCALES;
  for (const other of others) {
    for (const [a, b] of [
      [first, other],
      [other, first],
    ] as const) {
      const missing = Object.keys(copies[a]).find((key) => !(key in copies[b]));
      if (missing)
        throw new ContentError(`${join(dir, 'locales', `${b}.yaml`)}: ${missing}: missing (present in ${a})`);
    }
  }
  const messages = {} as Record<Locale, ReturnType<typeof compileMessages>>;
  for (const locale of LOCALES) {
    try {
      messages[locale] = compileMessages(locale, copies[locale]);
    } catch (error) {
      throw new ContentError(
        `${join(dir, 'locales', `${locale}.yaml`)}: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
  return {
    ladders: new Map<LadderId, Ladder>(ladders.ladders.map((l) => [l.id, l])),
    sources: ladders.sources,
    screening,
    messages,
  };
}
