import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { localDate, nextWallTime } from '../src/time/local.ts';
import { jobIdOf, RETENTION, type TimerJob } from './queues.ts';
import { type DueEntry, type ScheduleStore, wallTimeOf } from './schedule-store.ts';

export interface SchedulerOptions {
  /** How many due entries one tick handles at most; a tick with a full batch runs again at once. */
  batch?: number;
}

/**
 * Turns due schedule entries into timer jobs. A recurring entry becomes a job whose id is the
 * patient, the timer and the local date, so re-scheduling, restarts or two schedulers add it once;
 * a push whose local day has already ended is skipped rather than sent late. Then the entry moves to
 * its next local wall time. Time comes from the caller, so tests drive it with their own clock.
 */
export class Scheduler {
  private readonly batch: number;

  constructor(
    private readonly store: ScheduleStore,
    private readonly timers: Queue<TimerJob>,
    private readonly log: Logger,
    opts: SchedulerOptions = {},
  ) {
    this.batch = opts.batch ?? 1000;
  }

  /** Handles everything due at `now`; returns how many timer jobs were added. */
  async tick(now: number): Promise<number> {
    let added = 0;
    for (;;) {
      const { entries, unreadable } = await this.store.due(now, this.batch);
      if (unreadable.length > 0) {
        this.log.warn(
          { count: unreadable.length, first: unreadable[0] },
          'dropped unreadable schedule entries',
        );
        await this.store.drop(unreadable);
      }
      if (entries.length > 0) added += await this.handle(entries, now);
      if (entries.length + unreadable.length < this.batch) return added;
    }
  }

  private async handle(entries: DueEntry[], now: number): Promise<number> {
    const schedules = await this.store.schedulesOf([
      ...new Set(entries.filter((e) => !e.once).map((e) => e.patientId)),
    ]);
    const jobs: { name: string; data: TimerJob; opts: { jobId: string } & typeof RETENTION }[] = [];
    const moves: { entry: DueEntry; next: number | 'remove' }[] = [];
    for (const entry of entries) {
      if (entry.once) {
        jobs.push({
          name: entry.timer,
          data: { patientId: entry.patientId, timer: entry.timer, at: entry.at },
          opts: { jobId: jobIdOf(entry.timer, entry.patientId, entry.at), ...RETENTION },
        });
        moves.push({ entry, next: 'remove' });
        continue;
      }
      const schedule = schedules.get(entry.patientId);
      const wall = schedule && wallTimeOf(schedule, entry.timer);
      if (!schedule || !wall) {
        moves.push({ entry, next: 'remove' }); // the patient has no schedule any more
        continue;
      }
      const date = localDate(entry.at, schedule.timezone);
      if (date === localDate(now, schedule.timezone)) {
        jobs.push({
          name: entry.timer,
          data: { patientId: entry.patientId, timer: entry.timer, date, at: entry.at },
          opts: { jobId: jobIdOf(entry.timer, entry.patientId, date), ...RETENTION },
        });
      } else {
        this.log.info(
          { patientId: entry.patientId, timer: entry.timer, date },
          'skipped a push whose day is over',
        );
      }
      moves.push({ entry, next: nextWallTime(Math.max(entry.at, now), wall, schedule.timezone) });
    }
    // Jobs first, then the move: a crash in between re-adds the same job ids, which is a no-op.
    if (jobs.length > 0) await this.timers.addBulk(jobs);
    await this.store.advance(moves);
    return jobs.length;
  }
}

/** Runs `tick` every `intervalMs` until stopped; a failed tick is logged and the next one tries again. */
export function runScheduler(scheduler: Scheduler, clock: () => number, intervalMs: number, log: Logger) {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const loop = () => {
    if (stopped) return;
    running = scheduler
      .tick(clock())
      .catch((error) => log.error({ err: error }, 'scheduler tick failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs);
      });
  };
  loop();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
