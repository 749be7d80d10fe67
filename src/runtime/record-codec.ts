import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { AuditEntry } from '../engine/events.ts';
import type { PatientState } from '../engine/state.ts';
import { AUDIT_DICTIONARY, STATE_DICTIONARY } from './record-dictionaries.ts';

/**
 * How a patient's record sits in Redis. A patient's history is most of what Backcoach stores (DESIGN
 * §7 asks for ≤ 3 KB a patient after 90 days), and as JSON ninety days of check-ins take 40 KB. So
 * the record is the state in a compact form (day records and level changes as tuples), deflated
 * against a dictionary of a typical record, followed by the audit log deflated the same way. The
 * audit part is kept as it is unless the step adds entries, so an ordinary step never re-packs it.
 *
 * Layout: one version byte (1), the state part's length (4 bytes, big-endian), the state part, the
 * audit part (empty when there are no entries). A record that starts with `{` is the plain JSON
 * state of earlier versions, still read as such.
 */
const VERSION = 1;
const HEADER = 5;
const LEVEL = 6;

export interface DecodedRecord {
  /** The state as stored, still to be validated by the caller's schema. */
  state: unknown;
  /** The audit part as stored, to carry over unchanged when a step adds no entries. */
  audit: Buffer;
  /** A plain JSON state of an earlier version; its audit log is in the separate list. */
  legacy: boolean;
}

export class RecordFormatError extends Error {
  override name = 'RecordFormatError';
}

export function decodeRecord(raw: Buffer): DecodedRecord {
  if (raw[0] === 0x7b /* { */) return { state: parseJson(raw.toString('utf8')), audit: EMPTY, legacy: true };
  if (raw[0] !== VERSION || raw.length < HEADER)
    throw new RecordFormatError('not a record of a known version');
  const stateLength = raw.readUInt32BE(1);
  if (HEADER + stateLength > raw.length) throw new RecordFormatError('the state part is cut short');
  const packed = inflate(raw.subarray(HEADER, HEADER + stateLength), STATE_DICTIONARY, 'the state');
  return {
    state: expandState(parseJson(packed)),
    audit: raw.subarray(HEADER + stateLength),
    legacy: false,
  };
}

/** The audit entries of a record's audit part, oldest first (not yet validated). */
export function decodeAudit(audit: Buffer): unknown[] {
  if (audit.length === 0) return [];
  const entries = parseJson(inflate(audit, AUDIT_DICTIONARY, 'the audit log'));
  if (!Array.isArray(entries)) throw new RecordFormatError('the audit log is not a list');
  return entries;
}

/** `audit`: the record's audit part so far; `added`: entries this step appends to it. */
export function encodeRecord(state: PatientState, audit: Buffer, added: readonly AuditEntry[]): Buffer {
  const packedState = deflateRawSync(JSON.stringify(compactState(state)), {
    level: LEVEL,
    dictionary: STATE_DICTIONARY,
  });
  const packedAudit =
    added.length === 0
      ? audit
      : deflateRawSync(JSON.stringify([...decodeAudit(audit), ...added]), {
          level: LEVEL,
          dictionary: AUDIT_DICTIONARY,
        });
  const header = Buffer.alloc(HEADER);
  header[0] = VERSION;
  header.writeUInt32BE(packedState.length, 1);
  return Buffer.concat([header, packedState, packedAudit]);
}

const EMPTY = Buffer.alloc(0);

function inflate(data: Buffer, dictionary: Buffer, what: string): string {
  try {
    return inflateRawSync(data, { dictionary }).toString('utf8');
  } catch {
    throw new RecordFormatError(`${what} does not unpack`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new RecordFormatError('not valid JSON');
  }
}

// ---- the compact form ---------------------------------------------------------------------------

// A day: date, pushedAt and remindedAt as the difference to the day before's (ms, so exact), the
// session's drills as "ladder:level" joined by commas ("" for none, "!" appended when minimal),
// then outcome, pain, difficulty, pain during and decision; null where the record has no value.
type DayTuple = [
  string,
  number | null,
  number | null,
  string | null,
  string | null,
  number | null,
  string | null,
  string | null,
  string | null,
];
type ChangeTuple = [string, string, number, number, string, string, Record<string, string | number>];

function compactState(state: PatientState): Record<string, unknown> {
  let pushed = 0;
  let reminded = 0;
  const days = state.days.map((d): DayTuple => {
    const pushedAt = d.pushedAt === undefined ? null : d.pushedAt - pushed;
    const remindedAt = d.remindedAt === undefined ? null : d.remindedAt - reminded;
    pushed = d.pushedAt ?? pushed;
    reminded = d.remindedAt ?? reminded;
    const drills = d.session
      ? d.session.drills.map((x) => `${x.ladder}:${x.level}`).join(',') + (d.session.minimal ? '!' : '')
      : null;
    return [
      d.date,
      pushedAt,
      remindedAt,
      drills,
      d.outcome ?? null,
      d.pain ?? null,
      d.difficulty ?? null,
      d.painDuring ?? null,
      d.decision ?? null,
    ];
  });
  const levelChanges = state.levelChanges.map(
    (c): ChangeTuple => [c.date, c.ladder, c.from, c.to, c.by, c.reason.key, c.reason.params],
  );
  return { ...state, days, levelChanges };
}

/**
 * Back to the state's own shape. Only the tuples' layout is checked here; the caller's schema then
 * checks every field of the result.
 */
function expandState(stored: unknown): unknown {
  if (typeof stored !== 'object' || stored === null)
    throw new RecordFormatError('the state is not an object');
  const { days, levelChanges } = stored as { days?: unknown; levelChanges?: unknown };
  if (!isTuples(days, 9)) throw new RecordFormatError("the state's days are malformed");
  if (!isTuples(levelChanges, 7)) throw new RecordFormatError("the state's level changes are malformed");
  let pushed = 0;
  let reminded = 0;
  const expandedDays = (days as DayTuple[]).map(
    ([date, pushedAt, remindedAt, drills, outcome, pain, difficulty, painDuring, decision]) => {
      const day: Record<string, unknown> = { date };
      if (pushedAt !== null) day.pushedAt = pushed += pushedAt;
      if (remindedAt !== null) day.remindedAt = reminded += remindedAt;
      if (typeof drills === 'string') {
        const minimal = drills.endsWith('!');
        const list = (minimal ? drills.slice(0, -1) : drills).split(',').filter((x) => x !== '');
        day.session = {
          drills: list.map((x) => {
            const [ladder, level] = x.split(':');
            return { ladder, level: Number(level) };
          }),
          minimal,
        };
      }
      if (outcome !== null) day.outcome = outcome;
      if (pain !== null) day.pain = pain;
      if (difficulty !== null) day.difficulty = difficulty;
      if (painDuring !== null) day.painDuring = painDuring;
      if (decision !== null) day.decision = decision;
      return day;
    },
  );
  const expandedChanges = (levelChanges as ChangeTuple[]).map(
    ([date, ladder, from, to, by, key, params]) => ({
      date,
      ladder,
      from,
      to,
      by,
      reason: { key, params },
    }),
  );
  return { ...stored, days: expandedDays, levelChanges: expandedChanges };
}

function isTuples(value: unknown, length: number): boolean {
  return Array.isArray(value) && value.every((t) => Array.isArray(t) && t.length === length);
}
