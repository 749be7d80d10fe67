import type { Installation, InstallationQuery, InstallationStore } from '@slack/oauth';
import type { Redis } from 'ioredis';
import { z } from 'zod';

// Loose so that whatever Slack adds to an installation survives a round trip; only what outbound
// delivery and Bolt's authorize depend on is checked.
const storedInstallationSchema = z.looseObject({
  bot: z.looseObject({ token: z.string().min(1) }),
});

/** The installation asked for was never stored (or was deleted), as opposed to being unreadable. */
export class InstallationNotFoundError extends Error {
  override name = 'InstallationNotFoundError';
}

/**
 * Slack OAuth installations for multi-workspace distribution, one hash field per workspace
 * (`team:<id>`) or per Enterprise Grid org installed org-wide (`enterprise:<id>`).
 *
 * Error messages name keys, fields and ids only: they reach Bolt's logs (authorize wraps them),
 * so neither a token nor the stored text around it (where a corrupt token could sit) is quoted.
 */
export class RedisInstallationStore implements InstallationStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get key() {
    return `${this.prefix}slack:installations`;
  }

  async storeInstallation<AuthVersion extends 'v1' | 'v2'>(
    installation: Installation<AuthVersion, boolean>,
  ): Promise<void> {
    const field = fieldOfInstallation(installation);
    if (!installation.bot?.token) {
      throw new Error(`Refusing to store Slack installation ${field}: it has no bot token`);
    }
    await this.redis.hset(this.key, field, JSON.stringify(installation));
  }

  async fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation> {
    const { field, subject } = fieldOfQuery(query);
    const raw = await this.redis.hget(this.key, field);
    if (raw === null) throw new InstallationNotFoundError(`No installation for ${subject}`);
    return this.parse(raw, field);
  }

  async deleteInstallation(query: InstallationQuery<boolean>): Promise<void> {
    await this.redis.hdel(this.key, fieldOfQuery(query).field);
  }

  private parse(raw: string, field: string): Installation {
    const where = `Corrupt Slack installation at ${this.key} field ${field}`;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      // JSON.parse's own message quotes the input, token included.
      throw new Error(`${where}: not valid JSON`);
    }
    const parsed = storedInstallationSchema.safeParse(json);
    if (!parsed.success) {
      const paths = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
      throw new Error(`${where}: missing or invalid ${paths.join(', ')}`);
    }
    // Only the bot token is checked; the rest is what storeInstallation was given.
    return parsed.data as unknown as Installation;
  }
}

function fieldOfInstallation(installation: Installation<'v1' | 'v2', boolean>): string {
  if (installation.isEnterpriseInstall) {
    const enterpriseId = installation.enterprise?.id;
    if (!enterpriseId) {
      throw new Error('Refusing to store Slack installation: org-wide install without an enterprise id');
    }
    return `enterprise:${enterpriseId}`;
  }
  const teamId = installation.team?.id;
  if (!teamId) throw new Error('Refusing to store Slack installation: workspace install without a team id');
  return `team:${teamId}`;
}

function fieldOfQuery(query: InstallationQuery<boolean>): { field: string; subject: string } {
  if (query.isEnterpriseInstall && query.enterpriseId) {
    return { field: `enterprise:${query.enterpriseId}`, subject: `enterprise ${query.enterpriseId}` };
  }
  if (!query.teamId) throw new Error('Slack installation query names no team (and no org-wide enterprise)');
  return { field: `team:${query.teamId}`, subject: `team ${query.teamId}` };
}

/**
 * The bot token for posting into a workspace unprompted. Outbound delivery knows the workspace but
 * not whether the app was installed there or org-wide, so with an enterprise id an org-wide
 * installation is the fallback when the workspace has none of its own.
 */
export async function botTokenOf(
  store: Pick<InstallationStore, 'fetchInstallation'>,
  teamId: string,
  enterpriseId?: string,
): Promise<string> {
  let installation: Installation;
  try {
    installation = await store.fetchInstallation({ teamId, enterpriseId, isEnterpriseInstall: false });
  } catch (error) {
    if (!(error instanceof InstallationNotFoundError) || !enterpriseId) throw error;
    installation = await store.fetchInstallation({ teamId, enterpriseId, isEnterpriseInstall: true });
  }
  const token = installation.bot?.token;
  if (!token) throw new Error(`Slack installation for team ${teamId} has no bot token`);
  return token;
}
