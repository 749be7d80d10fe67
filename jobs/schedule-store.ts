import type { Redis } from 'ioredis';
import { TIMERS, type Timer } from '../src/engine/events.ts';
import { type Schedule, scheduleSchema } from '../src/engine/state.ts';
import { globEscape } from '../src/runtime/redis-glob.ts';
import { nextWallTime } from '../src/time/local.ts';

/** A schedule entry: a recurring timer of a patient, or a one-off wake-up at a given instant. */
export interface DueEntry {
  member: string;
  /** When it is due (ms since epoch). */
  at: number;
  timer: Timer;
  patientId: string;
  once: boolean;
}

const RECURRING: readonly { timer: Timer; wall: keyof Pick<Schedule, 'drillTime' | 'reminderTime'> }[] = [
  { timer: 'drills_due', wall: 'drillTime' },
  { timer: 'checkin_reminder', wall: 'reminderTime' },
];

// Every patient has two entries in the due set and one field in the schedule hash, so their encoding
// is most of the schedule's cost per patient: short codes and plain strings rather than JSON.
const CODES: Record<Timer, string> = { drills_due: 'd', checkin_reminder: 'r', snooze_due: 's' };
const TIMER_OF = new Map(Object.entries(CODES).map(([timer, code]) => [code, timer as Timer]));

/** A due-set member: `d tg:1` for a recurring push, `s@1767254400000 tg:1` for a one-off wake-up. */
export function dueMember(timer: Timer, patientId: string, at?: number): string {
  return `${CODES[timer]}${at === undefined ? '' : `@${at}`} ${patientId}`;
}

/** Reads a member in the current form or the earlier JSON one (`["drills_due","tg:1"]`). */
function parseMember(member: string): { timer: Timer; patientId: string; at?: number } | undefined {
  if (member.startsWith('[')) return parseLegacyMember(member);
  const match = /^([a-z])(?:@(\d+))? (.+)$/s.exec(member);
  const timer = TIMER_OF.get(match?.[1] ?? '');
  if (!match || timer === undefined) return undefined;
  const patientId = match[3] as string;
  return match[2] === undefined ? { timer, patientId } : { timer, patientId, at: Number(match[2]) };
}

function parseLegacyMember(member: string): ReturnType<typeof parseMember> {
  try {
    const [timer, patientId, at] = JSON.parse(member) as unknown[];
    if (!TIMERS.includes(timer as Timer) || typeof patientId !== 'string') return undefined;
    if (at === undefined) return { timer: timer as Timer, patientId };
    return typeof at === 'number' ? { timer: timer as Timer, patientId, at } : undefined;
  } catch {
    return undefined;
  }
}

/** A schedule as one line: `Europe/Berlin 08:00 20:00`, then ` 22:00-07:00` with quiet hours. */
export function encodeSchedule(schedule: Schedule): string {
  const { timezone, drillTime, reminderTime, quietHours } = schedule;
  const quiet = quietHours ? ` ${quietHours.start}-${quietHours.end}` : '';
  return `${timezone} ${drillTime} ${reminderTime}${quiet}`;
}

function decodeSchedule(raw: string): Schedule | undefined {
  if (raw.startsWith('{')) {
    try {
      const parsed = scheduleSchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
  const [timezone, drillTime, reminderTime, quiet] = raw.split(' ');
  const [start, end] = quiet?.split('-') ?? [];
  const parsed = scheduleSchema.safeParse({
    timezone,
    drillTime,
    reminderTime,
    quietHours: quiet === undefined ? null : { start, end },
  });
  return parsed.success ? parsed.data : undefined;
}

// Rewrites an entry of the earlier JSON form in the current one, keeping its time; if the current
// form is there already (set by a newer process), the earlier one is simply dropped.
const MIGRATE_MEMBERS = `
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score then
    redis.call('ZADD', KEYS[1], 'NX', score, ARGV[i + 1])
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return 0`;

// Rewrites a schedule only if it still holds what was read, so a patient's newer setting is kept.
const MIGRATE_SCHEDULE = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 0`;

// Moves an entry to its next time only if nobody else moved it first (compare-and-set on the score),
// so a patient changing their drill time during a tick is never overwritten with the old time.
const ADVANCE = `
for i = 1, #ARGV, 3 do
  local current = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if current and tonumber(current) == tonumber(ARGV[i + 1]) then
    if ARGV[i + 2] == 'remove' then redis.call('ZREM', KEYS[1], ARGV[i])
    else redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i]) end
  end
end
return 0`;

/**
 * Every patient's pending pushes in Redis: a sorted set of entries by due time and a hash of each
 * patient's schedule (IANA zone plus local wall times). The scheduler reads what is due; the next
 * occurrence is computed in the zone, so daylight-saving changes move the instant, never the wall time.
 */
export class ScheduleStore {
  readonly dueKey: string;
  readonly schedulesKey: string;

  constructor(
    private readonly redis: Redis,
    prefix = 'bc:',
  ) {
    this.dueKey = `${prefix}sched:due`;
    this.schedulesKey = `${prefix}sched:patients`;
  }

  /** Creates, moves or (with null) removes a patient's recurring pushes and pending wake-ups. */
  async set(patientId: string, schedule: Schedule | null, now: number): Promise<void> {
    if (schedule === null) return this.remove(patientId);
    const tx = this.redis.multi().hset(this.schedulesKey, patientId, encodeSchedule(schedule));
    for (const { timer, wall } of RECURRING) {
      tx.zadd(this.dueKey, nextWallTime(now, schedule[wall], schedule.timezone), dueMember(timer, patientId));
      tx.zrem(this.dueKey, JSON.stringify([timer, patientId])); // the earlier form, if still there
    }
    await tx.exec();
  }

  async wakeAt(patientId: string, at: number, timer: Timer): Promise<void> {
    await this.redis.zadd(this.dueKey, at, dueMember(timer, patientId, at));
  }

  async remove(patientId: string): Promise<void> {
    const members = await this.membersOf(patientId);
    const tx = this.redis.multi().hdel(this.schedulesKey, patientId);
    if (members.length > 0) tx.zrem(this.dueKey, ...members);
    await tx.exec();
  }

  /** Every entry of one patient (for deletion and export); scans, so not for hot paths. */
  async membersOf(patientId: string): Promise<string[]> {
    const found = new Set<string>();
    // The earlier JSON form holds the id JSON-escaped; for ordinary ids both patterns are the same.
    for (const text of new Set([patientId, JSON.stringify(patientId).slice(1, -1)])) {
      for await (const page of this.redis.zscanStream(this.dueKey, {
        match: `*${globEscape(text)}*`,
        count: 1000,
      })) {
        for (let i = 0; i < page.length; i += 2) {
          const member = page[i] as string;
          if (parseMember(member)?.patientId === patientId) found.add(member);
        }
      }
    }
    return [...found];
  }

  async schedulesOf(patientIds: readonly string[]): Promise<Map<string, Schedule>> {
    if (patientIds.length === 0) return new Map();
    const raws = await this.redis.hmget(this.schedulesKey, ...patientIds);
    const out = new Map<string, Schedule>();
    raws.forEach((raw, i) => {
      const schedule = raw === null ? undefined : decodeSchedule(raw);
      if (schedule) out.set(patientIds[i] as string, schedule);
    });
    return out;
  }

  /**
   * Entries due at `now`, earliest first. Members this code cannot read (written by hand or by a
   * future version) come back apart, for the caller to report and drop; left alone they would be
   * due on every tick.
   */
  async due(now: number, limit: number): Promise<{ entries: DueEntry[]; unreadable: string[] }> {
    const flat = await this.redis.zrangebyscore(this.dueKey, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit);
    const entries: DueEntry[] = [];
    const unreadable: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const member = flat[i] as string;
      const parsed = parseMember(member);
      if (!parsed) {
        unreadable.push(member);
        continue;
      }
      const { timer, patientId, at } = parsed;
      entries.push({ member, at: Number(flat[i + 1]), timer, patientId, once: at !== undefined });
    }
    return { entries, unreadable };
  }

  async drop(members: readonly string[]): Promise<void> {
    if (members.length > 0) await this.redis.zrem(this.dueKey, ...members);
  }

  /** Moves entries on (or removes one-offs), each only if still at the time it was read. */
  async advance(moves: readonly { entry: DueEntry; next: number | 'remove' }[]): Promise<void> {
    if (moves.length === 0) return;
    const args = moves.flatMap(({ entry, next }) => [entry.member, String(entry.at), String(next)]);
    await this.redis.eval(ADVANCE, 1, this.dueKey, ...args);
  }

  /**
   * Re-creates recurring entries missing for any patient with a schedule (the maintenance sweep).
   * It first rewrites entries and schedules still in the earlier JSON form, so that form is gone
   * after one sweep and never counted as missing.
   */
  async repair(now: number): Promise<number> {
    await this.migrateLegacyMembers();
    let repaired = 0;
    for await (const page of this.redis.hscanStream(this.schedulesKey, { count: 500 })) {
      const tx = this.redis.multi();
      // One look for the whole page, and the next time worked out only for what is missing: a sweep
      // of every patient must not cost a fan-out running beside it a zone calculation per patient.
      const wanted: { member: string; schedule: Schedule; wall: string }[] = [];
      for (let i = 0; i < page.length; i += 2) {
        const patientId = page[i] as string;
        const raw = page[i + 1] as string;
        const schedule = decodeSchedule(raw);
        if (!schedule) continue;
        if (raw.startsWith('{')) {
          tx.eval(MIGRATE_SCHEDULE, 1, this.schedulesKey, patientId, raw, encodeSchedule(schedule));
        }
        for (const { timer, wall } of RECURRING) {
          wanted.push({ member: dueMember(timer, patientId), schedule, wall: schedule[wall] });
        }
      }
      const scores =
        wanted.length > 0 ? await this.redis.zmscore(this.dueKey, ...wanted.map((w) => w.member)) : [];
      for (const [i, { member, schedule, wall }] of wanted.entries()) {
        if (scores[i] !== null) continue;
        // NX: an entry set since the look above (a patient's new time) is kept.
        tx.zadd(this.dueKey, 'NX', nextWallTime(now, wall, schedule.timezone), member);
      }
      const replies = (await tx.exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
      repaired += replies.reduce((sum, [, added]) => sum + (typeof added === 'number' ? added : 0), 0);
    }
    return repaired;
  }

  private async migrateLegacyMembers(): Promise<void> {
    for await (const page of this.redis.zscanStream(this.dueKey, { match: '[[]*', count: 1000 })) {
      const pairs: string[] = [];
      for (let i = 0; i < page.length; i += 2) {
        const member = page[i] as string;
        const parsed = parseLegacyMember(member);
        if (parsed) pairs.push(member, dueMember(parsed.timer, parsed.patientId, parsed.at));
      }
      if (pairs.length > 0) await this.redis.eval(MIGRATE_MEMBERS, 1, this.dueKey, ...pairs);
    }
  }
}

export function wallTimeOf(schedule: Schedule, timer: Timer): string | undefined {
  const recurring = RECURRING.find((r) => r.timer === timer);
  return recurring ? schedule[recurring.wall] : undefined;
}
