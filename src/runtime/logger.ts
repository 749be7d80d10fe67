import { type DestinationStream, type Level, type Logger, pino } from 'pino';

/** Fields of platform errors that echo the request or response: a message's text, a user's words. */
const ECHOES = ['payload', 'data', 'body', 'request', 'response'];

/**
 * An error as a log line may show it: pino's own form without the fields that carry what was sent
 * (grammY puts the whole sendMessage payload on its errors). The method, codes and description stay,
 * which is what an operator needs.
 */
export function safeError(error: unknown): Record<string, unknown> {
  const serialised = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  for (const field of ECHOES) delete serialised[field];
  return serialised;
}

/** The project's logger: JSON lines, and errors without what the patient wrote or was sent. */
export function createLogger(level: Level | 'silent', destination?: DestinationStream): Logger {
  return pino({ level, serializers: { err: safeError } }, destination);
}
