import type { ChainableCommander, Redis } from 'ioredis';

/**
 * A fan-out's batch talks to Redis in one command per stage rather than one or two per patient:
 * each command costs the client several µs to build, write and parse, whatever its size, and at
 * tens of thousands of patients a second those µs were a tenth of the process. The scripts only
 * read or write the keys they are given, as the single commands would.
 */

// GET and ZSCORE for each patient. pcall: a key of the wrong type fails its own patient only.
const READ = `
local out = {}
for i = 1, #ARGV do
  out[2 * i - 1] = redis.pcall('GET', KEYS[2 * i - 1])
  out[2 * i] = redis.pcall('ZSCORE', KEYS[2 * i], ARGV[i])
end
return out
`;

// For each patient: the record, the pending entry when there is one, the TTL of the old ids' set.
const COMMIT = `
local window = ARGV[1]
for i = 0, #KEYS / 3 - 1 do
  local a = 2 + 4 * i
  redis.call('SET', KEYS[3 * i + 1], ARGV[a])
  if ARGV[a + 2] ~= '' then redis.call('HSET', KEYS[3 * i + 2], ARGV[a + 1], ARGV[a + 2]) end
  if ARGV[a + 3] == '1' then redis.call('PEXPIRE', KEYS[3 * i + 3], window) end
end
return #KEYS / 3
`;

const SETTLE = `
for i = 1, #KEYS do redis.call('HDEL', KEYS[i], ARGV[i]) end
return #KEYS
`;

type ScriptReply = (Buffer | null | Error)[];

type BatchRedis = {
  backcoachReadBatchBuffer(...args: (string | number)[]): Promise<ScriptReply>;
  backcoachCommitBatch(...args: (string | number | Buffer)[]): Promise<number>;
  backcoachSettleBatch(...args: string[]): Promise<number>;
};

/**
 * Defines the scripts on a connection. A transaction only has the commands its connection had when
 * it was made, so the store does this for its connections up front.
 */
export function withBatchScripts(redis: Redis): Redis & BatchRedis {
  if (!('backcoachReadBatch' in redis)) {
    redis.defineCommand('backcoachReadBatch', { lua: READ, readOnly: true });
    redis.defineCommand('backcoachCommitBatch', { lua: COMMIT });
    redis.defineCommand('backcoachSettleBatch', { lua: SETTLE });
  }
  return redis as Redis & BatchRedis;
}

/** What one patient's read found: the record and when the event id was seen, or the error. */
export type BatchRead = { raw: Buffer | null; seenAt: string | null } | { error: Error };

/** Each patient's record and whether the event id is among their older ids, in one command. */
export async function readBatch(
  redis: Redis,
  reads: readonly { state: string; seen: string; eventId: string }[],
): Promise<BatchRead[]> {
  const keys = reads.flatMap((r) => [r.state, r.seen]);
  const reply = await withBatchScripts(redis).backcoachReadBatchBuffer(
    keys.length,
    ...keys,
    ...reads.map((r) => r.eventId),
  );
  return reads.map((_, i) => {
    const raw = reply[2 * i] ?? null;
    const seenAt = reply[2 * i + 1] ?? null;
    if (raw instanceof Error) return { error: raw };
    if (seenAt instanceof Error) return { error: seenAt };
    return { raw, seenAt: seenAt === null ? null : seenAt.toString() };
  });
}

/** A patient's new record and what goes with it (see `StoreWrite`'s `record`). */
export interface RecordWrite {
  state: string;
  pending: string;
  seen: string;
  record: Buffer;
  eventId: string;
  pendingEntry: Buffer | null;
  expireSeen: boolean;
}

/**
 * Queues many patients' record writes on a transaction, as one command. The transaction's connection
 * must have been through `withBatchScripts` before it was made.
 */
export function commitBatch(tx: ChainableCommander, writes: readonly RecordWrite[], seenWindowMs: number) {
  if (writes.length === 0) return;
  const keys = writes.flatMap((w) => [w.state, w.pending, w.seen]);
  const args = writes.flatMap((w) => [w.record, w.eventId, w.pendingEntry ?? '', w.expireSeen ? '1' : '0']);
  (tx as unknown as BatchRedis).backcoachCommitBatch(keys.length, ...keys, seenWindowMs, ...args);
}

/** Deletes one field of each hash, in one command: many events' pending entries settled. */
export async function settleBatch(redis: Redis, entries: readonly { key: string; field: string }[]) {
  if (entries.length === 0) return;
  await withBatchScripts(redis).backcoachSettleBatch(
    String(entries.length),
    ...entries.map((e) => e.key),
    ...entries.map((e) => e.field),
  );
}
