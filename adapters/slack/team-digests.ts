import type { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { type ScheduledTask, schedule } from 'node-cron';
import type { Logger } from 'pino';
import type { Outbox } from '../../jobs/delivery.ts';
import { redisRunCoordinator } from '../../jobs/maintenance.ts';
import type { Content } from '../../src/content/content.ts';
import type { Locale } from '../../src/content/schema.ts';
import type { PatientStore } from '../../src/runtime/store.ts';
import { digestText, memberWeeksOf, teamDigest } from '../../src/teams/digest.ts';
import { channelRecipientOf } from './delivery.ts';
import type { TeamStore } from './team-store.ts';

export interface TeamDigestOptions {
  teams: TeamStore;
  store: PatientStore;
  outbox: Outbox;
  content: Content;
  locale: Locale;
  log: Logger;
}

/** The Monday (a UTC date) of the last whole week before `now`. */
export function lastWeekStart(now: number): string {
  return DateTime.fromMillis(now, { zone: 'UTC' }).startOf('week').minus({ weeks: 1 }).toISODate() as string;
}

/**
 * Every team's figures for last week, posted to its channel through the outbox. The job id holds
 * the team and the week, so a second run (another process, a restart) posts nothing twice.
 */
export async function postTeamDigests(opts: TeamDigestOptions, now: number): Promise<number> {
  const weekStart = lastWeekStart(now);
  let posted = 0;
  for (const team of await opts.teams.all()) {
    const ids = await opts.teams.members(team);
    const states = await Promise.all(ids.map((id) => opts.store.load(id)));
    await opts.teams.prune(
      team,
      ids.filter((_, i) => states[i] === null),
    );
    const weeks = states.flatMap((s) => (s ? [memberWeeksOf(s, weekStart)] : []));
    const text = digestText(opts.content, opts.locale, team.name, teamDigest(weeks));
    await opts.outbox.enqueue(
      `digest|${team.workspace}|${team.name}|${weekStart}`,
      channelRecipientOf(team.workspace, team.channel),
      [{ text }],
    );
    posted++;
  }
  if (posted > 0) opts.log.info({ teams: posted, weekStart }, 'team digests queued');
  return posted;
}

/** Mondays at 09:00 UTC, one process at a time. */
export function startTeamDigests(
  opts: TeamDigestOptions & { redis: Redis; prefix: string; owner: string; clock: () => number },
): ScheduledTask {
  return schedule(
    '0 9 * * 1',
    async () => {
      await postTeamDigests(opts, opts.clock());
    },
    {
      name: 'team-digests',
      noOverlap: true,
      distributed: true,
      distributedLease: 30 * 60_000,
      runCoordinator: redisRunCoordinator(opts.redis, opts.prefix, opts.owner),
    },
  );
}
