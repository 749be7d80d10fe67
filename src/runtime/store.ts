import { stringify } from 'csv-stringify/sync';
import type { ChainableCommander, Redis } from 'ioredis';
import { z } from 'zod';
import type { AuditEntry, Effect, InboundEvent, StepResult } from '../engine/events.ts';
import type { PatientState } from '../engine/state.ts';
import {
  type CheckedTuples,
  type DecodedRecord,
  decodeAudit,
  decodeRecord,
  describeIssues,
  encodeRecord,
  RecordFormatError,
  type SeenIds,
  seenIdOf,
} from './record-codec.ts';
import { globEscape } from './redis-glob.ts';
import { commitBatch, type RecordWrite, readBatch, settleBatch, withBatchScripts } from './store-batch.ts';

export const DEFAULT_PREFIX = 'bc:';
/**
 * How long a processed event id is remembered for de-duplication: longer than Telegram keeps an
 * unconfirmed update (24 hours) and than any job retry, and short enough that a patient's record
 * of ids stays a few hundred bytes.
 */
export const SEEN_WINDOW_MS = 2 * 24 * 3600 * 1000;
/** At most this many ids are remembered per patient, whatever the window (a flood of events). */
export const SEEN_LIMIT = 1000;
const DEFAULT_MAX_ATTEMPTS = 100;

export interface PatientKeys {
  /** The state with the audit log appended (record-codec.ts). */
  state: string;
  seen: string;
  /** Audit entries with no state record to carry them (older records, a state the step removed). */
  audit: string;
  /** Effects committed but not yet confirmed performed, by event id: replayed on redelivery. */
  pending: string;
  /** The platform adapter's bookkeeping (a Telegram chat's question message ids). */
  platform: string;
}

const FORBIDDEN_IN_KEY = /[{}\s]/;

/** Every key a patient owns. Export and delete go through here, so a new key cannot be forgotten. */
export function keysOf(patientId: string, prefix = DEFAULT_PREFIX): PatientKeys {
  if (patientId === '' || FORBIDDEN_IN_KEY.test(patientId)) {
    throw new Error(
      `Invalid patient id ${JSON.stringify(patientId)}: it must be non-empty and contain no braces or whitespace`,
    );
  }
  // The hash tag puts all of a patient's keys in one cluster slot, so one transaction can cover them.
  const tagged = `${prefix}{${patientId}}`;
  return {
    state: `${tagged}:state`,
    seen: `${tagged}:seen`,
    audit: `${tagged}:audit`,
    pending: `${tagged}:pending`,
    platform: `${tagged}:platform`,
  };
}

const AUDIT_KINDS = {
  decision: 'decision',
  level_change: 'level_change',
  coach: 'coach',
  red_flag: 'red_flag',
  consent: 'consent',
  status: 'status',
} as const satisfies { [K in AuditEntry['kind']]: K };

const auditEntrySchema = z.strictObject({
  at: z.number(),
  kind: z.enum(AUDIT_KINDS),
  detail: z.record(z.string(), z.unknown()),
});

/** Effects that reach outside the store; they are kept with the commit until confirmed performed. */
const OUTWARD: ReadonlySet<Effect['type']> = new Set([
  'send',
  'alert_coach',
  'schedule',
  'wake_at',
  'join_coach',
  'export',
]);
const pendingEffectsSchema = z.array(
  z.looseObject({
    type: z.enum(['send', 'alert_coach', 'audit', 'schedule', 'wake_at', 'join_coach', 'export', 'delete']),
  }),
);
/** An event's pending effects with when they were committed; earlier versions stored the bare list. */
const pendingSchema = z.union([
  z.strictObject({ at: z.number(), effects: pendingEffectsSchema }),
  pendingEffectsSchema.transform((effects) => ({ at: 0, effects })),
]);

/** An event whose effects were committed but never confirmed performed. */
export interface Unsettled {
  patientId: string;
  eventId: string;
  /** When its step was committed (0: unknown, written by an earlier version). */
  at: number;
}

export class CorruptRecordError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`Stored value at ${key} is invalid: ${detail}`);
    this.name = 'CorruptRecordError';
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function parseStored<T>(key: string, raw: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new CorruptRecordError(key, 'not valid JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new CorruptRecordError(key, describeIssues(result.error));
  return result.data;
}

// WATCH belongs to a connection, not to a caller: two transactions interleaved on one connection
// would let the first EXEC clear the second's WATCH. So transactions on one connection take turns.
const connectionTurns = new WeakMap<Redis, Promise<unknown>>();
function onConnectionTurn<T>(redis: Redis, task: () => Promise<T>): Promise<T> {
  const previous = connectionTurns.get(redis) ?? Promise.resolve();
  const turn = previous.then(task);
  connectionTurns.set(
    redis,
    turn.catch(() => undefined),
  );
  return turn;
}

// A reconnect silently drops WATCH; a transaction that saw one must not commit on the new connection.
const connectionCloses = new WeakMap<Redis, { count: number }>();
function closesOf(redis: Redis): number {
  let closes = connectionCloses.get(redis);
  if (!closes) {
    const counter = { count: 0 };
    redis.on('close', () => {
      counter.count++;
    });
    connectionCloses.set(redis, counter);
    closes = counter;
  }
  return closes.count;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ApplyResult {
  duplicate: boolean;
  state: PatientState | null;
  effects: Effect[];
}

/**
 * A step of the engine on the state the store read for it. The state is the step's alone (read
 * afresh for every try), so the step may change it rather than copy it (`step`'s `owned`).
 */
export type Step = (state: PatientState | null) => StepResult<PatientState | null>;

/** What the pure part of a step works on: the record as read (under `key`) and the event. */
export interface PlanInput {
  key: string;
  /** The stored record (a Buffer here; a plain Uint8Array once it has crossed to a worker thread). */
  raw: Uint8Array | null;
  /** When the event id was seen, in the ids' older set of their own; null if not there. */
  seenAt: string | null;
  event: InboundEvent;
  now: number;
}

/**
 * The writes that commit a step, as plain data, so a worker thread can plan them: nothing; every key
 * of the patient deleted; the new record; or the state removed, the event id and any audit entries
 * kept in keys of their own. `pending`: the step's outward effects, kept until confirmed performed
 * (JSON, as bytes: encoded where the plan was made, not on the thread that writes it).
 */
export type StoreWrite =
  | { kind: 'none' }
  | { kind: 'delete' }
  | { kind: 'record'; record: Uint8Array; expireSeen: boolean; pending: Uint8Array | null }
  | { kind: 'cleared'; audits: string[]; pending: Uint8Array | null };

/** A step's result and the writes that commit it. */
export interface Plan {
  result: ApplyResult;
  write: StoreWrite;
}

/**
 * Plans many steps at once, each as `planStep` would: null where the store must take the event on
 * its own (processed before, or a record or step that fails, which `apply` then reports).
 */
export type PlanMany = (inputs: PlanInput[]) => Promise<(Plan | null)[]>;

export interface PatientExport {
  json: string;
  csv: string;
}

const CSV_COLUMNS = ['date', 'outcome', 'pain', 'difficulty', 'pain_during', 'decision', 'drills'];

/** The system of record for patients: state, processed event ids and audit log, one hash tag each. */
export class PatientStore {
  private readonly prefix: string;
  private readonly maxAttempts: number;
  private readonly batchConnections: readonly Redis[];
  private nextBatchConnection = 0;

  constructor(
    private readonly redis: Redis,
    opts: {
      prefix?: string;
      maxAttempts?: number;
      /**
       * Connections for `applyMany`'s transactions, taken in turn (default: the store's own). A
       * transaction has its connection to itself from WATCH to EXEC, planning included, so a batch
       * planned elsewhere (a thread) leaves the connection idle meanwhile: more let batches overlap.
       */
      batchConnections?: readonly Redis[];
    } = {},
  ) {
    this.prefix = opts.prefix ?? DEFAULT_PREFIX;
    if (FORBIDDEN_IN_KEY.test(this.prefix)) {
      throw new Error(
        `Invalid key prefix ${JSON.stringify(this.prefix)}: it must contain no braces or whitespace`,
      );
    }
    this.maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.batchConnections = opts.batchConnections?.length ? opts.batchConnections : [redis];
    for (const connection of new Set([redis, ...this.batchConnections])) {
      closesOf(connection);
      withBatchScripts(connection);
    }
  }

  keysOf(patientId: string): PatientKeys {
    return keysOf(patientId, this.prefix);
  }

  async load(patientId: string): Promise<PatientState | null> {
    const key = this.keysOf(patientId).state;
    const raw = await this.redis.getBuffer(key);
    return raw === null ? null : readRecord(key, raw, patientId).state;
  }

  /**
   * Runs `step` on the current state and commits its result, the event id and the audit entries in
   * one transaction. `step` must be pure: it runs again whenever another writer got in first.
   */
  async apply(event: InboundEvent, step: Step, now: number): Promise<ApplyResult> {
    const keys = this.keysOf(event.patientId);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const result = await onConnectionTurn(this.redis, () => this.attempt(keys, event, step, now));
      if (result) return result;
      await sleep(Math.random() * Math.min(attempt, 10));
    }
    throw new Error(
      `Patient ${event.patientId} is too contended: event ${event.id} lost the race ${this.maxAttempts} times`,
    );
  }

  /**
   * `apply` for many events of distinct patients at once, in one transaction: what a fan-out of
   * timers needs, one round trip for all instead of three each. When another writer changed any of
   * them first, or an event needs more than a plain step (a duplicate, a record that fails to read),
   * those go through `apply` one by one. Results are in the order of `items`. `planMany`, where
   * given, plans the steps instead of `planStep` with each item's `step` (in worker threads, say);
   * it must plan as `planStep` does.
   */
  async applyMany(
    items: readonly { event: InboundEvent; step: Step }[],
    now: number,
    planMany?: PlanMany,
  ): Promise<PromiseSettledResult<ApplyResult>[]> {
    const patients = new Set(items.map((item) => item.event.patientId));
    if (patients.size !== items.length) throw new Error('applyMany takes one event per patient');
    // An id no key can be made of fails on its own, in `apply`, not the whole batch.
    const batchable = items.filter(
      (item) => !FORBIDDEN_IN_KEY.test(item.event.patientId) && item.event.patientId !== '',
    );
    // By event, not by position: a patient whose read failed has no input.
    const steps = new Map(batchable.map((item) => [item.event, item.step]));
    const plan =
      planMany ??
      (async (inputs: PlanInput[]) =>
        inputs.map((input) => planSafely(input, steps.get(input.event) as Step)));
    const redis = this.batchConnections[this.nextBatchConnection++ % this.batchConnections.length] as Redis;
    const batch =
      batchable.length > 1
        ? await onConnectionTurn(redis, () => this.attemptMany(redis, batchable, now, plan))
        : [];
    const done = new Map(batchable.map((item, i) => [item, batch?.[i] ?? null]));
    return Promise.allSettled(
      items.map((item) => {
        const result = done.get(item);
        return result ? Promise.resolve(result) : this.apply(item.event, item.step, now);
      }),
    );
  }

  /** One optimistic try for many; an entry is null where `apply` must take the event on its own. */
  private async attemptMany(
    redis: Redis,
    items: readonly { event: InboundEvent }[],
    now: number,
    planMany: PlanMany,
  ): Promise<(ApplyResult | null)[] | null> {
    const keys = items.map((item) => this.keysOf(item.event.patientId));
    const closesBefore = closesOf(redis);
    // The reads go out behind the WATCH on the same connection, so they see what it watches: one
    // round trip for both.
    const watched = redis.watch(...keys.flatMap((k) => [k.state, k.seen]));
    const read = readBatch(
      redis,
      items.map(({ event }, i) => ({ ...(keys[i] as PatientKeys), eventId: event.id })),
    );
    let execSent = false;
    try {
      const [, reads] = await Promise.all([watched, read]);
      const inputs: PlanInput[] = [];
      const planned: number[] = [];
      for (const [i, item] of items.entries()) {
        const read = reads[i];
        // A read that failed leaves the event to `apply`, which reports the error.
        if (!read || 'error' in read) continue;
        planned.push(i);
        inputs.push({
          key: (keys[i] as PatientKeys).state,
          raw: read.raw,
          seenAt: read.seenAt,
          event: item.event,
          now,
        });
      }
      const plans = await planMany(inputs);
      const tx = redis.multi();
      const results: (ApplyResult | null)[] = items.map(() => null);
      const records: RecordWrite[] = [];
      for (const [j, i] of planned.entries()) {
        const plan = plans[j];
        if (!plan) continue;
        const k = keys[i] as PatientKeys;
        const eventId = (inputs[j] as PlanInput).event.id;
        const { write } = plan;
        // The usual write (a new record) goes with the others in one command; the rest one by one.
        if (write.kind === 'record') records.push(recordWrite(k, write, eventId));
        else writePlan(tx, k, write, eventId, now);
        results[i] = plan.result;
      }
      commitBatch(tx, records, SEEN_WINDOW_MS);
      if (closesOf(redis) !== closesBefore || redis.status !== 'ready') return null;
      execSent = true;
      const committed = await tx.exec();
      if (committed === null) return null;
      const failed = committed.find(([error]) => error !== null);
      if (failed) throw new Error(`Transaction for ${items.length} patients failed: ${failed[0]?.message}`);
      return results;
    } finally {
      if (!execSent) await redis.unwatch().catch(() => undefined);
    }
  }

  /** One optimistic try; null when another writer changed the patient first. */
  private async attempt(
    keys: PatientKeys,
    event: InboundEvent,
    step: Step,
    now: number,
  ): Promise<ApplyResult | null> {
    const closesBefore = closesOf(this.redis);
    await this.redis.watch(keys.state, keys.seen);
    let execSent = false;
    try {
      const [raw, seenAt] = await Promise.all([
        this.redis.getBuffer(keys.state),
        this.redis.zscore(keys.seen, event.id),
      ]);
      const planned = planStep({ key: keys.state, raw, seenAt, event, now }, step);
      if (planned === null) {
        // Processed before; if its effects were never confirmed performed, hand them out again.
        const pending = await this.redis.hget(keys.pending, event.id);
        const effects = pending === null ? [] : parseStored(keys.pending, pending, pendingSchema).effects;
        const state = raw === null ? null : readRecord(keys.state, raw, event.patientId).state;
        return { duplicate: true, state, effects: effects as Effect[] };
      }
      if (closesOf(this.redis) !== closesBefore || this.redis.status !== 'ready') return null;
      const tx = this.redis.multi();
      writePlan(tx, keys, planned.write, event.id, now);
      execSent = true;
      const replies = await tx.exec();
      if (replies === null) return null;
      const failed = replies.find(([error]) => error !== null);
      if (failed) throw new Error(`Transaction for patient ${event.patientId} failed: ${failed[0]?.message}`);
      return planned.result;
    } finally {
      // A failed UNWATCH means the connection dropped, which clears the WATCH anyway.
      if (!execSent) await this.redis.unwatch().catch(() => undefined);
    }
  }

  /** The event's effects were all performed: it no longer needs replaying. */
  async settle(patientId: string, eventId: string): Promise<void> {
    await this.redis.hdel(this.keysOf(patientId).pending, eventId);
  }

  /** `settle` for many events at once, in one round trip. */
  async settleMany(events: readonly { patientId: string; eventId: string }[]): Promise<void> {
    if (events.length === 0) return;
    await settleBatch(
      this.redis,
      events.map(({ patientId, eventId }) => ({ key: this.keysOf(patientId).pending, field: eventId })),
    );
  }

  /** Events whose effects were committed but not confirmed performed (a crash in between). */
  async unsettled(patientId: string): Promise<string[]> {
    return this.redis.hkeys(this.keysOf(patientId).pending);
  }

  /** An event's effects still waiting to be confirmed, or null when there are none (any more). */
  async pendingEffects(patientId: string, eventId: string): Promise<Effect[] | null> {
    const key = this.keysOf(patientId).pending;
    const raw = await this.redis.hget(key, eventId);
    return raw === null ? null : (parseStored(key, raw, pendingSchema).effects as Effect[]);
  }

  /**
   * Every patient's events committed before `before` whose effects were never confirmed: a crash or
   * a failed effect after the commit, for an event the platform will not deliver again (Slack is
   * answered before the step; polling moves on). Scans the keyspace, so it is for a sweep.
   */
  async *unsettledBefore(before: number): AsyncGenerator<Unsettled> {
    const match = `${globEscape(this.prefix)}{*}:pending`;
    for await (const keys of this.redis.scanStream({ match, type: 'hash', count: 1000 }) as AsyncIterable<
      string[]
    >) {
      for (const key of keys) {
        const patientId = key.slice(this.prefix.length + 1, key.lastIndexOf('}'));
        const entries = await this.redis.hgetall(key);
        for (const [eventId, raw] of Object.entries(entries)) {
          const parsed = pendingSchema.safeParse(safeJson(raw));
          // An unreadable entry is handed on too: reading its effects then fails, naming the key.
          const at = parsed.success ? parsed.data.at : 0;
          if (at < before) yield { patientId, eventId, at };
        }
      }
    }
  }

  /** The state and the whole audit log (older records keep theirs in a list of its own). */
  private async read(patientId: string): Promise<{ state: PatientState | null; audit: AuditEntry[] } | null> {
    const keys = this.keysOf(patientId);
    const replies = await this.redis.multi().getBuffer(keys.state).lrange(keys.audit, 0, -1).exec();
    if (replies === null) throw new Error(`Reading patient ${patientId} was aborted`);
    const [[stateError, raw], [auditError, listed]] = replies as [
      [Error | null, Buffer | null],
      [Error | null, string[]],
    ];
    if (stateError || auditError) throw stateError ?? auditError;
    if (raw === null && listed.length === 0) return null;
    const record = raw === null ? null : readRecord(keys.state, raw, patientId);
    const audit = [
      ...listed.map((entry) => parseStored(keys.audit, entry, auditEntrySchema)),
      ...(record?.audit.length ? readAudit(keys.state, record.audit) : []),
    ];
    return { state: record?.state ?? null, audit };
  }

  async auditLog(patientId: string): Promise<AuditEntry[]> {
    return (await this.read(patientId))?.audit ?? [];
  }

  /** Everything stored about a patient except the processed event ids; null when nothing is stored. */
  async exportPatient(patientId: string): Promise<PatientExport | null> {
    const stored = await this.read(patientId);
    if (stored === null) return null;
    const { state, audit } = stored;
    const rows = (state?.days ?? []).map((day) => ({
      date: day.date,
      outcome: day.outcome,
      pain: day.pain,
      difficulty: day.difficulty,
      pain_during: day.painDuring,
      decision: day.decision,
      drills: day.session?.drills.map((drill) => `${drill.ladder}:${drill.level}`).join(' '),
    }));
    return {
      json: JSON.stringify({ patientId, state, audit }, null, 2),
      csv: stringify(rows, { header: true, columns: CSV_COLUMNS }),
    };
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * What a step makes of the stored record: its result and the writes that commit it, or null when
 * the event was processed before. Pure, so it can run in a worker thread (`StepPool`).
 */
export function planStep(input: PlanInput, step: Step): Plan | null {
  const { key, event, now } = input;
  const raw = input.raw === null ? null : asBuffer(input.raw);
  const record = raw === null ? null : readRecord(key, raw, event.patientId);
  const seenId = seenIdOf(event.id);
  if (input.seenAt !== null || record?.seen.has(seenId)) return null;
  const { state, effects } = step(record?.state ?? null);
  const deletes = effects.some((effect) => effect.type === 'delete');
  const next = deletes || state === null ? null : checkStepOwner(state, event.patientId);
  const audits = effects.flatMap((effect) =>
    effect.type === 'audit' ? [checkAuditEntry(effect.entry)] : [],
  );
  const result = { duplicate: false, state: next, effects };
  // Nothing stored and nothing to store (a timer about a patient deleted since): no key is created,
  // not even the event id, which would otherwise outlive the deletion.
  if (record === null && next === null && effects.length === 0) return { result, write: { kind: 'none' } };
  if (deletes) return { result, write: { kind: 'delete' } };
  const pending = effects.some((effect) => OUTWARD.has(effect.type))
    ? Buffer.from(JSON.stringify({ at: now, effects }))
    : null;
  if (next === null) {
    return {
      result,
      write: { kind: 'cleared', audits: audits.map((entry) => JSON.stringify(entry)), pending },
    };
  }
  const seen = recentlySeen(record?.seen, seenId, now);
  return {
    result,
    write: {
      kind: 'record',
      record: encodeStepRecord(next, seen, record?.audit ?? EMPTY, audits, record?.checked),
      // Ids an earlier version kept in a set of their own are still consulted until they age out.
      expireSeen: record === null || record.legacy,
      pending,
    },
  };
}

/** The state a record written by `planStep` holds (read and checked as every read is). */
export function stateOfRecord(key: string, record: Uint8Array, patientId: string): PatientState {
  return readRecord(key, asBuffer(record), patientId).state;
}

/** `planStep`, null where it throws: `apply` on its own then reports the error, naming the key. */
export function planSafely(input: PlanInput, step: Step): Plan | null {
  try {
    return planStep(input, step);
  } catch {
    return null;
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A new record with its pending entry, as `commitBatch` writes it. */
function recordWrite(
  keys: PatientKeys,
  write: Extract<StoreWrite, { kind: 'record' }>,
  eventId: string,
): RecordWrite {
  return {
    state: keys.state,
    pending: keys.pending,
    seen: keys.seen,
    record: asBuffer(write.record),
    eventId,
    pendingEntry: write.pending && asBuffer(write.pending),
    expireSeen: write.expireSeen,
  };
}

/** Queues a plan's writes on a transaction. */
function writePlan(
  tx: ChainableCommander,
  keys: PatientKeys,
  write: StoreWrite,
  eventId: string,
  now: number,
): void {
  switch (write.kind) {
    case 'none':
      return;
    case 'delete':
      tx.del(...Object.values(keys));
      return;
    case 'record':
      // One way to write a record, whether one patient's or a batch's.
      commitBatch(tx, [recordWrite(keys, write, eventId)], SEEN_WINDOW_MS);
      return;
    case 'cleared':
      // No record left to carry them: the id and any entries go to keys that outlive the state.
      tx.del(keys.state);
      if (write.audits.length > 0) tx.rpush(keys.audit, ...write.audits);
      tx.zadd(keys.seen, now, eventId);
      tx.zremrangebyscore(keys.seen, '-inf', now - SEEN_WINDOW_MS);
      tx.zremrangebyrank(keys.seen, 0, -(SEEN_LIMIT + 1));
      if (write.pending !== null) tx.hset(keys.pending, eventId, asBuffer(write.pending));
      return;
  }
}

/** The ids to keep with the record: this event's and those within the window, the newest at most. */
function recentlySeen(seen: SeenIds | undefined, seenId: string, now: number): SeenIds {
  const second = Math.floor(now / 1000);
  const since = Math.floor((now - SEEN_WINDOW_MS) / 1000);
  const kept = [...(seen ?? [])].filter(([, at]) => at > since);
  kept.push([seenId, second]);
  return new Map(kept.slice(-SEEN_LIMIT));
}

function readRecord(key: string, raw: Buffer, patientId: string): DecodedRecord {
  let decoded: DecodedRecord;
  try {
    decoded = decodeRecord(raw);
  } catch (error) {
    if (error instanceof RecordFormatError) throw new CorruptRecordError(key, error.message);
    throw error;
  }
  const { state } = decoded;
  if (state.id !== patientId) throw new CorruptRecordError(key, `it holds the state of patient ${state.id}`);
  return decoded;
}

function readAudit(key: string, audit: Buffer): AuditEntry[] {
  let entries: unknown[];
  try {
    entries = decodeAudit(audit);
  } catch (error) {
    if (error instanceof RecordFormatError) throw new CorruptRecordError(key, error.message);
    throw error;
  }
  const result = z.array(auditEntrySchema).safeParse(entries);
  if (!result.success) throw new CorruptRecordError(key, `audit log: ${describeIssues(result.error)}`);
  return result.data;
}

function checkStepOwner(state: PatientState, patientId: string): PatientState {
  if (state.id !== patientId)
    throw new Error(`Step produced the state of patient ${state.id} for patient ${patientId}`);
  return state;
}

/** Nothing reaches Redis that a later read would refuse: the codec checks the state as it packs it. */
function encodeStepRecord(
  state: PatientState,
  seen: SeenIds,
  audit: Buffer,
  added: readonly AuditEntry[],
  read: CheckedTuples | undefined,
): Buffer {
  try {
    return encodeRecord(state, seen, audit, added, read);
  } catch (error) {
    if (!(error instanceof RecordFormatError)) throw error;
    throw new Error(`Step produced an invalid state for patient ${state.id}: ${error.message}`);
  }
}

function checkAuditEntry(entry: AuditEntry): AuditEntry {
  const result = auditEntrySchema.safeParse(entry);
  if (!result.success)
    throw new Error(`Step produced an invalid audit entry: ${describeIssues(result.error)}`);
  return result.data;
}
