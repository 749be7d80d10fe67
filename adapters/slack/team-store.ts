import type { Redis } from 'ioredis';
import { z } from 'zod';
import { keysOf } from '../../src/runtime/store.ts';
import { slackUserOf } from './events.ts';

const teamSchema = z.object({
  workspace: z.string(),
  name: z.string(),
  channel: z.string(),
  createdBy: z.string(),
  createdAt: z.number(),
});
export type Team = z.infer<typeof teamSchema>;

/**
 * Wellness teams: a name in a workspace bound to a channel, and the patients who opted in. A
 * patient belongs to at most one team; their membership is also noted under their own keys, so
 * `/delete` removes it with the rest (the team's set is cleaned when it next meets a missing patient).
 */
export class TeamStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get teamsKey() {
    return `${this.prefix}slack:teams`;
  }
  private membersKey(workspace: string, name: string) {
    return `${this.prefix}slack:team:${workspace}:${name}:members`;
  }
  private idOf(workspace: string, name: string) {
    return `${workspace}:${name}`;
  }

  /** Creates the team, or moves an existing one to this channel. */
  async create(team: Team): Promise<void> {
    await this.redis.hset(this.teamsKey, this.idOf(team.workspace, team.name), JSON.stringify(team));
  }

  async get(workspace: string, name: string): Promise<Team | undefined> {
    const raw = await this.redis.hget(this.teamsKey, this.idOf(workspace, name));
    return raw ? teamSchema.parse(JSON.parse(raw)) : undefined;
  }

  async all(): Promise<Team[]> {
    const raws = await this.redis.hvals(this.teamsKey);
    return raws.map((raw) => teamSchema.parse(JSON.parse(raw)));
  }

  /** Joins a team, leaving any other first; returns the team left, if any. */
  async join(patientId: string, team: Team): Promise<string | undefined> {
    const left = await this.leave(patientId);
    await this.redis
      .multi()
      .sadd(this.membersKey(team.workspace, team.name), patientId)
      .hset(keysOf(patientId, this.prefix).platform, 'team', team.name)
      .exec();
    return left;
  }

  /** Leaves the patient's team; returns its name, or undefined when they were in none. */
  async leave(patientId: string): Promise<string | undefined> {
    const platform = keysOf(patientId, this.prefix).platform;
    const name = await this.redis.hget(platform, 'team');
    if (!name) return undefined;
    const workspace = slackUserOf(patientId)?.teamId ?? '';
    await this.redis.multi().srem(this.membersKey(workspace, name), patientId).hdel(platform, 'team').exec();
    return name;
  }

  async members(team: Team): Promise<string[]> {
    return this.redis.smembers(this.membersKey(team.workspace, team.name));
  }

  /** Drops ids whose patient no longer exists (deleted their data). */
  async prune(team: Team, gone: readonly string[]): Promise<void> {
    if (gone.length > 0) await this.redis.srem(this.membersKey(team.workspace, team.name), ...gone);
  }
}
