import { type DestinationStream, type Level, type Logger, pino } from 'pino';

/**
 * Fields of platform errors that echo the request or response: a message's text, a user's words,
 * the request's headers and URL (axios-style `config`).
 */
const ECHOES = new Set(['payload', 'data', 'body', 'request', 'response', 'config']);

/**
 * Credentials as they appear in what an HTTP client puts in its errors: grammY's network errors
 * quote the request URL, whose path is `/bot<token>/<method>`; a Slack token or an Authorization
 * header can turn up in a client's message or a nested request.
 */
const CREDENTIALS: [RegExp, string][] = [
  [/\bbot\d+:[\w-]+/g, 'bot<redacted>'],
  [/\b\d{5,}:[\w-]{30,}/g, '<redacted>'],
  [/\bxox[a-z]-[\w-]+/g, 'xox-<redacted>'],
  [/\bxapp-[\w-]+/g, 'xapp-<redacted>'],
  [/\b(Bearer|Basic)\s+[\w.~+/=-]+/gi, '$1 <redacted>'],
];

/** Deep enough for an error, its cause and the client error inside that. */
const MAX_DEPTH = 8;

/** A text with every credential it quotes blanked. */
export function scrubCredentials(text: string): string {
  let out = text;
  for (const [pattern, replacement] of CREDENTIALS) out = out.replace(pattern, replacement);
  return out;
}

/** A copy without echo fields at any depth and with credentials blanked in every string. */
function clean(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return scrubCredentials(value);
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name}]`;
  if (seen.has(value) || depth >= MAX_DEPTH) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => clean(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!ECHOES.has(key)) out[key] = clean(item, depth + 1, seen);
  }
  return out;
}

/**
 * An error as a log line may show it: pino's own form without the fields that carry what was sent
 * (grammY puts the whole sendMessage payload on its errors) and without credentials, at every level
 * of nesting, since client errors wrap the lower-level error that quotes the request. The method,
 * codes and description stay, which is what an operator needs.
 */
export function safeError(error: unknown): Record<string, unknown> {
  const serialised = pino.stdSerializers.err(error as Error) as unknown;
  return clean(serialised, 0, new WeakSet()) as Record<string, unknown>;
}

/** The project's logger: JSON lines, and errors without what the patient wrote or was sent. */
export function createLogger(level: Level | 'silent', destination?: DestinationStream): Logger {
  return pino({ level, serializers: { err: safeError } }, destination);
}
