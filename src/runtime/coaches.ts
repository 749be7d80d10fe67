import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface CoachConfig {
  /** The coach's own chat, in the patient id form: `tg:<chat id>` or `sl:<team>:<user>`. */
  id: string;
  /** Their zone, for the Monday digest; UTC when not given. */
  timezone: string;
}

export interface RosterEntry {
  patientId: string;
  /** The patient's number on this coach's roster: what the coach types, never their name. */
  label: number;
}

const CODE_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** An invite code: short enough to type, long enough not to guess (about 50 bits). */
function newCode(): string {
  const bytes = randomBytes(10);
  return `c${[...bytes].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('')}`;
}

/**
 * Coaches, their invite codes and their rosters. A patient is on a coach's roster once they used
 * the coach's code; their number there stays the same for good, so "#3" always means one person.
 */
export class CoachStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly configured: readonly CoachConfig[],
  ) {}

  private coachKey(coachId: string) {
    return `${this.prefix}coach:${coachId}`;
  }
  private get codesKey() {
    return `${this.prefix}coach-codes`;
  }
  private rosterKey(coachId: string) {
    return `${this.prefix}coach:${coachId}:roster`;
  }
  private labelsKey(coachId: string) {
    return `${this.prefix}coach:${coachId}:labels`;
  }

  get coaches(): readonly CoachConfig[] {
    return this.configured;
  }

  isCoach(id: string): boolean {
    return this.configured.some((c) => c.id === id);
  }

  /** Gives every configured coach a code once; later starts keep it. */
  async ensureCodes(): Promise<void> {
    for (const coach of this.configured) {
      const code = newCode();
      const created = await this.redis.hsetnx(this.coachKey(coach.id), 'code', code);
      if (created) await this.redis.hset(this.codesKey, code, coach.id);
    }
  }

  async codeOf(coachId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.coachKey(coachId), 'code')) ?? undefined;
  }

  /** The coach whose code this is, if they are still configured. */
  async coachOfCode(code: string | null | undefined): Promise<string | undefined> {
    if (!code) return undefined;
    const coachId = await this.redis.hget(this.codesKey, code);
    return coachId && this.isCoach(coachId) ? coachId : undefined;
  }

  /** Puts the patient on the roster (once) and returns their number there. */
  async addToRoster(coachId: string, patientId: string): Promise<number> {
    const known = await this.redis.hget(this.rosterKey(coachId), patientId);
    if (known) return Number(known);
    const label = await this.redis.hincrby(this.coachKey(coachId), 'seq', 1);
    const set = await this.redis.hsetnx(this.rosterKey(coachId), patientId, String(label));
    if (!set) return Number(await this.redis.hget(this.rosterKey(coachId), patientId));
    await this.redis.hset(this.labelsKey(coachId), String(label), patientId);
    return label;
  }

  async labelOf(coachId: string, patientId: string): Promise<number | undefined> {
    const known = await this.redis.hget(this.rosterKey(coachId), patientId);
    return known ? Number(known) : undefined;
  }

  /** Only this coach's own patients can be found by number: another coach's #3 is not theirs. */
  async patientOf(coachId: string, label: number): Promise<string | undefined> {
    return (await this.redis.hget(this.labelsKey(coachId), String(label))) ?? undefined;
  }

  async roster(coachId: string): Promise<RosterEntry[]> {
    const all = await this.redis.hgetall(this.rosterKey(coachId));
    return Object.entries(all)
      .map(([patientId, label]) => ({ patientId, label: Number(label) }))
      .sort((a, b) => a.label - b.label);
  }

  /** True the first time it is asked for this coach and week: the digest job's once-only gate. */
  async claimDigest(coachId: string, week: string): Promise<boolean> {
    const key = `${this.prefix}coach:${coachId}:digest:${week}`;
    return (await this.redis.set(key, '1', 'EX', 8 * 24 * 3600, 'NX')) === 'OK';
  }

  async releaseDigest(coachId: string, week: string): Promise<void> {
    await this.redis.del(`${this.prefix}coach:${coachId}:digest:${week}`);
  }

  /** Takes a patient who deleted their data off every roster at once. */
  async forgetPatient(patientId: string): Promise<void> {
    for (const coach of this.configured) {
      const label = await this.labelOf(coach.id, patientId);
      if (label !== undefined) await this.remove(coach.id, [{ patientId, label }]);
    }
  }

  /** Takes patients who deleted their data off the roster. */
  async remove(coachId: string, entries: readonly RosterEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.redis
      .multi()
      .hdel(this.rosterKey(coachId), ...entries.map((e) => e.patientId))
      .hdel(this.labelsKey(coachId), ...entries.map((e) => String(e.label)))
      .exec();
  }
}

/** `COACHES=tg:123@Europe/Berlin,sl:T1:U9`: ids with an optional zone. */
export function parseCoaches(value: string): CoachConfig[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [id = '', timezone = 'UTC'] = entry.split('@');
      return { id, timezone };
    });
}
