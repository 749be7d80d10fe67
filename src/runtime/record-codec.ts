import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { z } from 'zod';
import { LADDER_IDS, type LadderId, ladderIdSchema } from '../content/schema.ts';
import type { AuditEntry } from '../engine/events.ts';
import {
  dayRecordSchema,
  levelChangeSchema,
  type PatientState,
  patientStateSchema,
} from '../engine/state.ts';
import { AUDIT_DICTIONARY, STATE_DICTIONARY } from './record-dictionaries.ts';

/**
 * How a patient's record sits in Redis. A patient's history is most of what Backcoach stores (the
 * target is ≤ 3 KB a patient after 90 days), and as JSON ninety days of check-ins take 40 KB. So the
 * record is the state in a compact form (day records and level changes as tuples), deflated against
 * a dictionary of a typical record; then the ids of the events processed lately, for
 * de-duplication; then the audit log, deflated the same way. The audit part is kept as it is unless
 * the step adds entries, so an ordinary step never re-packs it.
 *
 * Layout: version byte (1); the state part's length (4 bytes) and the seen part's (2 bytes),
 * big-endian; the state part; the seen part, 12 bytes an event (the first 8 bytes of the SHA-256
 * of its id, the second it was processed); the audit part (empty without entries). A record that
 * starts with `{` is the plain JSON state of earlier versions, still read as such.
 *
 * The state is checked with zod in its compact form, both ways: a day as one tuple of plain values
 * costs zod a third of what the same day as nested objects does, and a patient's days are most of
 * every step's work once they have been here a few weeks. On the way back, the days and level
 * changes equal to ones the read checked are not checked twice.
 */
const VERSION = 1;
const HEADER = 7;
/** Records are small and written once per step: the best compression costs little here. */
const LEVEL = 9;
const SEEN_ENTRY = 12;
const SEEN_HASH = 8;

/** Processed event ids (hashed) and the second each was processed. */
export type SeenIds = Map<string, number>;

export interface DecodedRecord {
  /** The state, checked (the caller still checks whose it is). */
  state: PatientState;
  seen: SeenIds;
  /** The audit part as stored, to carry over unchanged when a step adds no entries. */
  audit: Buffer;
  /** A plain JSON state of an earlier version: its audit log and event ids are in keys of their own. */
  legacy: boolean;
  /** The days and level changes as this read checked them (see `encodeRecord`). */
  checked: CheckedTuples;
}

/**
 * Days and level changes in their stored form, as a read checked them. A step changes today's day
 * and perhaps adds a level change; the rest of a long history comes back as it was read, and a
 * tuple equal to one the same schema passed needs no second check.
 */
export interface CheckedTuples {
  days: readonly DayTuple[];
  levelChanges: readonly ChangeTuple[];
}

const NONE_CHECKED: CheckedTuples = { days: [], levelChanges: [] };

export class RecordFormatError extends Error {
  override name = 'RecordFormatError';
}

/** How an event id is remembered: short, and it says nothing about the patient. */
export function seenIdOf(eventId: string): string {
  return createHash('sha256').update(eventId).digest().subarray(0, SEEN_HASH).toString('base64');
}

export function decodeRecord(raw: Buffer): DecodedRecord {
  if (raw[0] === 0x7b /* { */) {
    const state = checked(patientStateSchema, parseJson(raw.toString('utf8')));
    return { state, seen: new Map(), audit: EMPTY, legacy: true, checked: NONE_CHECKED };
  }
  if (raw[0] !== VERSION || raw.length < HEADER)
    throw new RecordFormatError('not a record of a known version');
  const stateLength = raw.readUInt32BE(1);
  const seenLength = raw.readUInt16BE(5);
  const seenStart = HEADER + stateLength;
  const auditStart = seenStart + seenLength;
  if (auditStart > raw.length || seenLength % SEEN_ENTRY !== 0)
    throw new RecordFormatError('the state part is cut short');
  const packed = inflate(raw.subarray(HEADER, seenStart), STATE_DICTIONARY, 'the state');
  const seen: SeenIds = new Map();
  for (let at = seenStart; at < auditStart; at += SEEN_ENTRY) {
    seen.set(raw.subarray(at, at + SEEN_HASH).toString('base64'), raw.readUInt32BE(at + SEEN_HASH));
  }
  const stored = checked(storedStateSchema, parseJson(packed));
  const checkedTuples = { days: stored.days, levelChanges: stored.levelChanges };
  return {
    state: expandState(stored),
    seen,
    audit: raw.subarray(auditStart),
    legacy: false,
    checked: checkedTuples,
  };
}

/** The audit entries of a record's audit part, oldest first (not yet validated). */
export function decodeAudit(audit: Buffer): unknown[] {
  if (audit.length === 0) return [];
  const stored = parseJson(inflate(audit, AUDIT_DICTIONARY, 'the audit log'));
  if (!isTuples(stored, 3)) throw new RecordFormatError('the audit log is malformed');
  // Each entry is [ms since the entry before, kind, detail].
  let at = 0;
  return (stored as [number, string, unknown][]).map(([delta, kind, detail]) => {
    at += delta;
    return { at, kind, detail };
  });
}

/**
 * `seen`: the event ids to remember (the caller trims them); `audit`: the record's audit part so
 * far; `added`: entries this step appends to it; `read`: the tuples the read of this record
 * checked, of which those that come back unchanged are not checked again. A state the schema
 * refuses throws a `RecordFormatError` naming its fields: nothing is written that a read would
 * refuse.
 */
export function encodeRecord(
  state: PatientState,
  seen: SeenIds,
  audit: Buffer,
  added: readonly AuditEntry[],
  read: CheckedTuples = NONE_CHECKED,
): Buffer {
  const packedState = deflateRawSync(JSON.stringify(checkedStored(compactState(state), read)), {
    level: LEVEL,
    dictionary: STATE_DICTIONARY,
  });
  const seenPart = Buffer.alloc(seen.size * SEEN_ENTRY);
  let offset = 0;
  for (const [id, second] of seen) {
    Buffer.from(id, 'base64').copy(seenPart, offset, 0, SEEN_HASH);
    seenPart.writeUInt32BE(second, offset + SEEN_HASH);
    offset += SEEN_ENTRY;
  }
  const header = Buffer.alloc(HEADER);
  header[0] = VERSION;
  header.writeUInt32BE(packedState.length, 1);
  header.writeUInt16BE(seenPart.length, 5);
  return Buffer.concat([header, packedState, seenPart, added.length === 0 ? audit : packAudit(audit, added)]);
}

function packAudit(audit: Buffer, added: readonly AuditEntry[]): Buffer {
  let previous = 0;
  const tuples = [...(decodeAudit(audit) as AuditEntry[]), ...added].map((entry) => {
    const tuple = [entry.at - previous, entry.kind, entry.detail];
    previous = entry.at;
    return tuple;
  });
  return deflateRawSync(JSON.stringify(tuples), { level: LEVEL, dictionary: AUDIT_DICTIONARY });
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
// session's drills as "ladder:level" joined by commas (with "!" appended when minimal), then
// outcome, pain, difficulty, pain during and decision; null where the record has no value. Each
// field is checked as the day's own schema checks it.
const { shape: day } = dayRecordSchema;
const drillText = `(?:${LADDER_IDS.join('|')}):[1-9]\\d{0,5}`;
const dayTupleSchema = z.tuple([
  day.date,
  day.pushedAt.unwrap().nullable(),
  day.remindedAt.unwrap().nullable(),
  z
    .string()
    .regex(new RegExp(`^${drillText}(?:,${drillText})*!?$`))
    .nullable(),
  day.outcome.unwrap().nullable(),
  day.pain.unwrap().nullable(),
  day.difficulty.unwrap().nullable(),
  day.painDuring.unwrap().nullable(),
  day.decision.unwrap().nullable(),
]);
const DAY_FIELDS = [
  'date',
  'pushedAt',
  'remindedAt',
  'session',
  'outcome',
  'pain',
  'difficulty',
  'painDuring',
  'decision',
] as const;
const { shape: change } = levelChangeSchema;
const changeTupleSchema = z.tuple([
  change.date,
  ladderIdSchema,
  change.from,
  change.to,
  change.by,
  change.reason.shape.key,
  change.reason.shape.params,
]);
const CHANGE_FIELDS = ['date', 'ladder', 'from', 'to', 'by', 'reason.key', 'reason.params'] as const;
/** The state as the record holds it: every field as the state's schema has it, days and changes as tuples. */
const storedStateSchema = patientStateSchema.extend({
  days: z.array(dayTupleSchema),
  levelChanges: z.array(changeTupleSchema),
});
type StoredState = z.infer<typeof storedStateSchema>;
type DayTuple = z.infer<typeof dayTupleSchema>;
type ChangeTuple = z.infer<typeof changeTupleSchema>;

/**
 * The stored state checked as `storedStateSchema` would check it, but for days and level changes
 * equal to ones in `read`: each tuple is checked on its own, so an equal one passes as it did. That
 * holds while the schema checks no tuple against another (no order, no uniqueness across days): a
 * rule across them would have to be checked here on the whole list.
 */
function checkedStored(stored: StoredState, read: CheckedTuples): StoredState {
  const readDays = new Map(read.days.map((tuple) => [tuple[0], tuple]));
  const newDays = unequal(stored.days, (tuple) => {
    const before = readDays.get(tuple[0]);
    return before !== undefined && sameValues(tuple, before, tuple.length);
  });
  const readChanges = new Map<string, ChangeTuple[]>();
  for (const tuple of read.levelChanges) {
    const key = changeKey(tuple);
    readChanges.set(key, [...(readChanges.get(key) ?? []), tuple]);
  }
  const newChanges = unequal(stored.levelChanges, (tuple) =>
    (readChanges.get(changeKey(tuple)) ?? []).some(
      (before) => sameValues(tuple, before, 6) && sameParams(tuple[6], before[6]),
    ),
  );
  const result = storedStateSchema.safeParse({
    ...stored,
    days: newDays.map((i) => stored.days[i]),
    levelChanges: newChanges.map((i) => stored.levelChanges[i]),
  });
  if (!result.success) {
    // Name each field by its place in the whole state, not in the part that was checked.
    const places: Record<string, number[]> = { days: newDays, levelChanges: newChanges };
    const issues = result.error.issues.map((issue) => {
      const [list, index, ...rest] = issue.path;
      const at = typeof list === 'string' && typeof index === 'number' ? places[list]?.[index] : undefined;
      return at === undefined ? issue : { ...issue, path: [list as string, at, ...rest] };
    });
    throw new RecordFormatError(describeIssues(new z.ZodError(issues)));
  }
  return {
    ...result.data,
    days: merged(stored.days, newDays, result.data.days),
    levelChanges: merged(stored.levelChanges, newChanges, result.data.levelChanges),
  };
}

/** `all` with the tuples at `places` replaced by `checked`, in order. */
function merged<T>(all: readonly T[], places: readonly number[], checked: readonly T[]): T[] {
  const out = [...all];
  places.forEach((at, i) => {
    out[at] = checked[i] as T;
  });
  return out;
}

/** The places in `tuples` of those for which `same` does not hold. */
function unequal<T>(tuples: readonly T[], same: (tuple: T) => boolean): number[] {
  const places: number[] = [];
  tuples.forEach((tuple, i) => {
    if (!same(tuple)) places.push(i);
  });
  return places;
}

/** Where to look for a change's equal: its date and ladder. */
const changeKey = (tuple: ChangeTuple) => `${tuple[0]} ${tuple[1]}`;

/** Whether `a` and `b` are as long and their first `count` values the same. */
function sameValues(a: readonly unknown[], b: readonly unknown[], count: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < count; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `params` of a step's state against the checked `before`: a plain object with the same values. */
function sameParams(params: ChangeTuple[6], before: ChangeTuple[6]): boolean {
  if (typeof params !== 'object' || params === null || Object.getPrototypeOf(params) !== Object.prototype)
    return false;
  const keys = Object.keys(params);
  return (
    keys.length === Object.keys(before).length &&
    keys.every((key) => Object.hasOwn(before, key) && params[key] === before[key])
  );
}

function checked<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new RecordFormatError(describeIssues(result.error));
  return result.data;
}

/**
 * The first issues zod found, each at its field's path. A field of a day or a level change is named
 * as in the state ("days.3.pain"), not by its place in the tuple.
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${fieldPath(issue.path).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

function fieldPath(path: readonly PropertyKey[]): string[] {
  const [list, index, place, ...rest] = path.map(String);
  const fields = list === 'days' ? DAY_FIELDS : list === 'levelChanges' ? CHANGE_FIELDS : undefined;
  const field = fields?.[Number(place)];
  return field === undefined || index === undefined
    ? path.map(String)
    : [list as string, index, field, ...rest];
}

function compactState(state: PatientState): StoredState {
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

/** Back to the state's own shape, from a stored state the schema has passed. */
function expandState(stored: StoredState): PatientState {
  let pushed = 0;
  let reminded = 0;
  const days = stored.days.map(
    ([date, pushedAt, remindedAt, drills, outcome, pain, difficulty, painDuring, decision]) => {
      const day: PatientState['days'][number] = { date };
      if (pushedAt !== null) day.pushedAt = pushed += pushedAt;
      if (remindedAt !== null) day.remindedAt = reminded += remindedAt;
      if (drills !== null) {
        const minimal = drills.endsWith('!');
        day.session = {
          drills: (minimal ? drills.slice(0, -1) : drills).split(',').map((drill) => {
            const [ladder, level] = drill.split(':') as [LadderId, string];
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
  const levelChanges = stored.levelChanges.map(([date, ladder, from, to, by, key, params]) => ({
    date,
    ladder,
    from,
    to,
    by,
    // A copy: the tuple stays as it was checked, whatever a step does to the state.
    reason: { key, params: { ...params } },
  }));
  return { ...stored, days, levelChanges };
}

function isTuples(value: unknown, length: number): boolean {
  return Array.isArray(value) && value.every((t) => Array.isArray(t) && t.length === length);
}
