import type { Content } from '../../src/content/content.ts';
import { loadContent } from '../../src/runtime/content-loader.ts';

let cached: Content | undefined;

/** The project's real content, loaded and validated once per test file. */
export function realContent(): Content {
  cached ??= loadContent('content');
  return cached;
}
