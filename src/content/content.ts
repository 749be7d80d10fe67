import { IntlMessageFormat } from 'intl-messageformat';
import type { Ladder, LadderId, LaddersFile, Locale, ScreeningFile } from './schema.ts';

/** Validated content, ready for the engine. Built once at start-up by the content loader. */
export interface Content {
  ladders: ReadonlyMap<LadderId, Ladder>;
  sources: LaddersFile['sources'];
  screening: ScreeningFile;
  messages: Readonly<Record<Locale, ReadonlyMap<string, IntlMessageFormat>>>;
}

export type Params = Record<string, string | number>;

export function compileMessages(
  locale: Locale,
  copy: Record<string, string>,
): Map<string, IntlMessageFormat> {
  const compiled = new Map<string, IntlMessageFormat>();
  for (const [key, text] of Object.entries(copy)) {
    try {
      compiled.set(key, new IntlMessageFormat(text, locale));
    } catch (error) {
      throw new Error(`${key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return compiled;
}

/** Renders a copy key; a missing key is a programming error, caught by the locale-parity tests. */
export function render(content: Content, locale: Locale, key: string, params: Params = {}): string {
  const message = content.messages[locale].get(key);
  if (!message) throw new Error(`missing copy key ${key} for locale ${locale}`);
  const out = message.format(params);
  return typeof out === 'string' ? out : String(out);
}

export function ladderOf(content: Content, id: LadderId): Ladder {
  const ladder = content.ladders.get(id);
  if (!ladder) throw new Error(`content has no ladder ${id}`);
  return ladder;
}

export function maxLevel(content: Content, id: LadderId): number {
  return ladderOf(content, id).levels.length;
}
