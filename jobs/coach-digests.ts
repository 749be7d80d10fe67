import type { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { type ScheduledTask, schedule } from 'node-cron';
import type { Logger } from 'pino';
import {
  attentionOf,
  coachDigestText,
  type DigestRow,
  orderDigest,
  weeklySummary,
} from '../src/coach/summary.ts';
import { type Content, render } from '../src/content/content.ts';
import type { Locale } from '../src/content/schema.ts';
import type { OutboundMessage } from '../src/engine/events.ts';
import { rosterStates } from '../src/runtime/coach-desk.ts';
import type { CoachStore } from '../src/runtime/coaches.ts';
import type { PatientStore } from '../src/runtime/store.ts';
import { addDays, localDate, mondayOf } from '../src/time/local.ts';
import { redisRunCoordinator } from './maintenance.ts';

/** From this hour on a Monday, in the coach's zone, the digest is due. */
const DIGEST_HOUR = 8;

export interface CoachDigestOptions {
  coaches: CoachStore;
  store: PatientStore;
  /** Through the outbox; the key (coach and week) makes each digest once-only. */
  send(key: string, coachId: string, messages: OutboundMessage[]): Promise<void>;
  content: Content;
  locale: Locale;
  log: Logger;
}

/**
 * Each coach's Monday digest of the week before: the patients who need attention first, then the
 * rest, and a chart of the roster. Run as often as you like: a coach's digest goes out once a week,
 * the first time the job runs after 08:00 on their Monday.
 */
export async function postCoachDigests(opts: CoachDigestOptions, now: number): Promise<number> {
  let posted = 0;
  for (const coach of opts.coaches.coaches) {
    const local = DateTime.fromMillis(now, { zone: coach.timezone });
    if (local.weekday !== 1 || local.hour < DIGEST_HOUR) continue;
    const coachWeek = addDays(local.toISODate() as string, -7);
    // The job runs every quarter hour; a coach's digest is worked out once a week.
    if (!(await opts.coaches.claimDigest(coach.id, coachWeek))) continue;
    try {
      await postDigest(opts, coach.id, coachWeek, now);
    } catch (error) {
      // Not queued: the next run tries again rather than lose the week's digest.
      await opts.coaches.releaseDigest(coach.id, coachWeek);
      throw error;
    }
    posted++;
  }
  if (posted > 0) opts.log.info({ coaches: posted }, 'coach digests queued');
  return posted;
}

async function postDigest(opts: CoachDigestOptions, coachId: string, coachWeek: string, now: number) {
  const rows: DigestRow[] = (await rosterStates(opts.coaches, opts.store, coachId)).map(
    ({ entry, state }) => {
      const weekStart = addDays(mondayOf(localDate(now, state.schedule.timezone)), -7);
      const summary = weeklySummary(state, weekStart, addDays(weekStart, 6));
      return { label: `#${entry.label}`, summary, attention: attentionOf(state, summary) };
    },
  );
  const t = (key: string) => render(opts.content, opts.locale, key);
  const message: OutboundMessage = { text: coachDigestText(opts.content, opts.locale, rows, coachWeek) };
  if (rows.length > 0) {
    message.chart = {
      kind: 'roster',
      rows: orderDigest(rows).map((r) => ({
        label: r.label,
        avgPain: r.summary.avgPain,
        adherence: r.summary.adherence ?? 0,
      })),
      labels: {
        title: t('desk.digest_chart'),
        pain: t('chart.roster_pain'),
        adherence: t('chart.roster_adherence'),
        locale: opts.locale,
      },
    };
  }
  await opts.send(`coachdigest|${coachId}|${coachWeek}`, coachId, [message]);
}

/** Every quarter hour, one process at a time: each coach's Monday comes in their own zone. */
export function startCoachDigests(
  opts: CoachDigestOptions & { redis: Redis; prefix: string; owner: string; clock: () => number },
): ScheduledTask {
  return schedule(
    '*/15 * * * *',
    async () => {
      await postCoachDigests(opts, opts.clock());
    },
    {
      name: 'coach-digests',
      noOverlap: true,
      distributed: true,
      distributedLease: 10 * 60_000,
      runCoordinator: redisRunCoordinator(opts.redis, opts.prefix, opts.owner),
    },
  );
}
