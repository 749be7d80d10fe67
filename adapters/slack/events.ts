import { LOCALES, type Locale } from '../../src/content/schema.ts';
import { COMMANDS, type InboundEvent } from '../../src/engine/events.ts';

/** Patient ids carry their platform: `sl:<team>:<user>` is a person in one Slack workspace. */
export const SLACK_PREFIX = 'sl:';
export const patientIdOf = (teamId: string, userId: string): string => `${SLACK_PREFIX}${teamId}:${userId}`;
export function slackUserOf(patientId: string): { teamId: string; userId: string } | undefined {
  if (!patientId.startsWith(SLACK_PREFIX)) return undefined;
  const [teamId, userId] = patientId.slice(SLACK_PREFIX.length).split(':');
  return teamId && userId ? { teamId, userId } : undefined;
}

const MAX_TEXT = 4096;
const BUTTON_VALUE = /^(0|[1-9]\d{0,15}):([^\p{Cc}]{1,48})$/u;

/** A language the content has, from Slack's locale (`de-DE`, `en-US`); undefined otherwise. */
export function localeOf(slackLocale: string | undefined): Locale | undefined {
  const primary = slackLocale?.split(/[-_]/)[0]?.toLowerCase();
  return (LOCALES as readonly string[]).includes(primary ?? '') ? (primary as Locale) : undefined;
}

export interface Hints {
  localeHint?: Locale;
  tzHint?: string;
}

function base(id: string, teamId: string, userId: string, hints: Hints) {
  return { id, patientId: patientIdOf(teamId, userId), ...hints };
}

/**
 * A direct message. The DM takes the same commands as the slash command: a message that is just a
 * command word (`today`, `/today`, `help`) is that command; anything else is text for the engine.
 */
export function dmEvent(
  eventId: string,
  teamId: string,
  userId: string,
  text: string,
  hints: Hints = {},
): InboundEvent {
  const trimmed = text.trim();
  const word = /^\/?([a-z]+)$/i.exec(trimmed)?.[1]?.toLowerCase();
  const b = base(`sl|${eventId}`, teamId, userId, hints);
  if (word && (COMMANDS as readonly string[]).includes(word))
    return { ...b, kind: 'command', command: word, args: '' };
  // Slack has no deep links into a DM, so a coach's invite is typed: `start <code>`.
  const invite = /^\/?start\s+([A-Za-z0-9_-]{1,64})$/i.exec(trimmed);
  if (invite) return { ...b, kind: 'command', command: 'start', args: invite[1] as string };
  return { ...b, kind: 'text', text: trimmed.slice(0, MAX_TEXT) };
}

/** The `seq:value` a question's button carries, or undefined for anything this adapter did not make. */
export function decodeButtonValue(value: unknown): { seq: number; value: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = BUTTON_VALUE.exec(value);
  if (!match) return undefined;
  const seq = Number(match[1]);
  return Number.isSafeInteger(seq) ? { seq, value: match[2] as string } : undefined;
}

/**
 * A button tap. Slack sends no id for an interaction and does not retry one, so the id is built
 * from the message and the moment of the tap: the same tap seen twice is stepped once.
 */
export function tapEvent(
  teamId: string,
  userId: string,
  messageTs: string,
  actionTs: string,
  buttonValue: unknown,
  hints: Hints = {},
): InboundEvent | undefined {
  const decoded = decodeButtonValue(buttonValue);
  if (!decoded) return undefined;
  return {
    ...base(`sl|a|${messageTs}|${actionTs}`, teamId, userId, hints),
    kind: 'choice',
    seq: decoded.seq,
    value: decoded.value,
  };
}

/** What `/backcoach <words>` asks for: an engine command, a team action, or help when unknown. */
export type SlashCommand =
  | { kind: 'engine'; command: string; args: string }
  | { kind: 'join'; team: string }
  | { kind: 'leave' }
  | { kind: 'team_create'; team: string }
  | { kind: 'unknown'; text: string };

const TEAM_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export function parseSlashCommand(text: string): SlashCommand {
  const [first = '', ...rest] = text.trim().split(/\s+/);
  const word = first.toLowerCase();
  const args = rest.join(' ');
  if (word === '') return { kind: 'engine', command: 'help', args: '' };
  if (word === 'join') {
    const team = args.toLowerCase();
    return TEAM_NAME.test(team) ? { kind: 'join', team } : { kind: 'unknown', text };
  }
  if (word === 'leave') return { kind: 'leave' };
  if (word === 'team' && rest[0]?.toLowerCase() === 'create') {
    const team = rest.slice(1).join(' ').toLowerCase();
    return TEAM_NAME.test(team) ? { kind: 'team_create', team } : { kind: 'unknown', text };
  }
  if ((COMMANDS as readonly string[]).includes(word)) return { kind: 'engine', command: word, args };
  return { kind: 'unknown', text };
}
