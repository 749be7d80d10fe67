import type { Redis } from 'ioredis';
import type { Timer } from '../src/engine/events.ts';
import { type Schedule, scheduleSchema } from '../src/engine/state.ts';
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

const memberOf = (timer: Timer, patientId: string, at?: number) =>
  JSON.stringify(at === undefined ? [timer, patientId] : [timer, patientId, at]);

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
    const tx = this.redis.multi().hset(this.schedulesKey, patientId, JSON.stringify(schedule));
    for (const { timer, wall } of RECURRING) {
      tx.zadd(this.dueKey, nextWallTime(now, schedule[wall], schedule.timezone), memberOf(timer, patientId));
    }
    await tx.exec();
  }

  async wakeAt(patientId: string, at: number, timer: Timer): Promise<void> {
    await this.redis.zadd(this.dueKey, at, memberOf(timer, patientId, at));
  }

  async remove(patientId: string): Promise<void> {
    const members = await this.membersOf(patientId);
    const tx = this.redis.multi().hdel(this.schedulesKey, patientId);
    if (members.length > 0) tx.zrem(this.dueKey, ...members);
    await tx.exec();
  }

  /** Every entry of one patient (for deletion and export); scans, so not for hot paths. */
  async membersOf(patientId: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    const pattern = `*${JSON.stringify(patientId).replace(/[*?[\]\\]/g, '\\$&')}*`;
    do {
      const [next, page] = await this.redis.zscan(this.dueKey, cursor, 'MATCH', pattern, 'COUNT', 1000);
      for (let i = 0; i < page.length; i += 2) {
        const member = page[i] as string;
        if (JSON.parse(member)[1] === patientId) found.push(member);
      }
      cursor = next;
    } while (cursor !== '0');
    return found;
  }

  async schedulesOf(patientIds: readonly string[]): Promise<Map<string, Schedule>> {
    if (patientIds.length === 0) return new Map();
    const raws = await this.redis.hmget(this.schedulesKey, ...patientIds);
    const out = new Map<string, Schedule>();
    raws.forEach((raw, i) => {
      const parsed = raw === null ? undefined : scheduleSchema.safeParse(JSON.parse(raw));
      if (parsed?.success) out.set(patientIds[i] as string, parsed.data);
    });
    return out;
  }

  async due(now: number, limit: number): Promise<DueEntry[]> {
    const flat = await this.redis.zrangebyscore(this.dueKey, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit);
    const entries: DueEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const member = flat[i] as string;
      const [timer, patientId, at] = JSON.parse(member) as [Timer, string, number?];
      entries.push({ member, at: Number(flat[i + 1]), timer, patientId, once: at !== undefined });
    }
    return entries;
  }

  /** Moves entries on (or removes one-offs), each only if still at the time it was read. */
  async advance(moves: readonly { entry: DueEntry; next: number | 'remove' }[]): Promise<void> {
    if (moves.length === 0) return;
    const args = moves.flatMap(({ entry, next }) => [entry.member, String(entry.at), String(next)]);
    await this.redis.eval(ADVANCE, 1, this.dueKey, ...args);
  }

  /** Re-creates recurring entries missing for any patient with a schedule (the maintenance sweep). */
  async repair(now: number): Promise<number> {
    let repaired = 0;
    let cursor = '0';
    do {
      const [next, page] = await this.redis.hscan(this.schedulesKey, cursor, 'COUNT', 500);
      const tx = this.redis.multi();
      for (let i = 0; i < page.length; i += 2) {
        const patientId = page[i] as string;
        const parsed = scheduleSchema.safeParse(JSON.parse(page[i + 1] as string));
        if (!parsed.success) continue;
        for (const { timer, wall } of RECURRING) {
          tx.zadd(
            this.dueKey,
            'NX',
            nextWallTime(now, parsed.data[wall], parsed.data.timezone),
            memberOf(timer, patientId),
          );
        }
      }
      const replies = (await tx.exec()) ?? [];
      repaired += replies.reduce((sum, [, added]) => sum + Number(added ?? 0), 0);
      cursor = next;
    } while (cursor !== '0');
    return repaired;
  }
}

export function wallTimeOf(schedule: Schedule, timer: Timer): string | undefined {
  const recurring = RECURRING.find((r) => r.timer === timer);
  return recurring ? schedule[recurring.wall] : undefined;
}
