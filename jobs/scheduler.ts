import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { localDate, nextWallTime } from '../src/time/local.ts';
import { jobIdOf, RETENTION, TIMER_RETRIES, type TimerBatch, type TimerJob, timerJob } from './queues.ts';
import { type DueEntry, type ScheduleStore, wallTimeOf } from './schedule-store.ts';

export interface SchedulerOptions {
  /** How many due entries one tick handles at most; a tick with a full batch runs again at once. */
  batch?: number;
  /** How many timers due together go in one job (see `jobsOf`). */
  timersPerJob?: number;
}

/**
 * Turns due schedule entries into timer jobs. A recurring entry becomes a job whose id is the
 * patient, the timer and the local date, so re-scheduling, restarts or two schedulers add it once;
 * a push whose local day has already ended is skipped rather than sent late. Then the entry moves to
 * its next local wall time. Time comes from the caller, so tests drive it with their own clock.
 */
export class Scheduler {
  private readonly batch: number;
  private readonly timersPerJob: number;

  constructor(
    private readonly store: ScheduleStore,
    private readonly timers: Queue<TimerJob | TimerBatch>,
    private readonly log: Logger,
    opts: SchedulerOptions = {},
  ) {
    this.batch = opts.batch ?? 1000;
    this.timersPerJob = opts.timersPerJob ?? 50;
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
    const due: (TimerJob & { id: string })[] = [];
    const moves: { entry: DueEntry; next: number | 'remove' }[] = [];
    // A fan-out is thousands of entries due at one instant in a handful of zones: the same dates
    // and next wall times over and over, each a few luxon calls.
    const memo = new Map<string, string | number>();
    const local = <T extends string | number>(key: string, compute: () => T): T => {
      const known = memo.get(key) as T | undefined;
      if (known !== undefined) return known;
      const value = compute();
      memo.set(key, value);
      return value;
    };
    for (const entry of entries) {
      if (entry.once) {
        const id = jobIdOf(entry.timer, entry.patientId, entry.at);
        due.push({ id, patientId: entry.patientId, timer: entry.timer, at: entry.at });
        moves.push({ entry, next: 'remove' });
        continue;
      }
      const schedule = schedules.get(entry.patientId);
      const wall = schedule && wallTimeOf(schedule, entry.timer);
      if (!schedule || !wall) {
        moves.push({ entry, next: 'remove' }); // the patient has no schedule any more
        continue;
      }
      const date = local(`d ${entry.at} ${schedule.timezone}`, () => localDate(entry.at, schedule.timezone));
      if (date === local(`d ${now} ${schedule.timezone}`, () => localDate(now, schedule.timezone))) {
        const id = jobIdOf(entry.timer, entry.patientId, date);
        due.push({ id, patientId: entry.patientId, timer: entry.timer, date, at: entry.at });
      } else {
        this.log.info(
          { patientId: entry.patientId, timer: entry.timer, date },
          'skipped a push whose day is over',
        );
      }
      const after = Math.max(entry.at, now);
      const next = local(`n ${after} ${wall} ${schedule.timezone}`, () =>
        nextWallTime(after, wall, schedule.timezone),
      );
      moves.push({ entry, next });
    }
    // Jobs first, then the move: a crash in between re-adds the same job ids, which is a no-op.
    if (due.length > 0) await this.timers.addBulk(this.jobsOf(due));
    await this.store.advance(moves);
    return due.length;
  }

  /**
   * A timer on its own is a job named after it, with its own id; timers due together go in jobs of
   * up to `timersPerJob`, each run as one store transaction. A batch's id is a digest of its timers'
   * ids, so a tick repeated after a crash adds the same batch once; it is removed when done, as it
   * names many patients and `/delete` finds a patient's jobs by id.
   */
  private jobsOf(due: (TimerJob & { id: string })[]) {
    if (due.length === 1) return [timerJob(due[0] as TimerJob & { id: string })];
    const jobs = [];
    for (let i = 0; i < due.length; i += this.timersPerJob) {
      const timers = due.slice(i, i + this.timersPerJob);
      const digest = createHash('sha1')
        .update(timers.map((t) => t.id).join(' '))
        .digest('base64url');
      jobs.push({
        name: 'batch',
        data: { timers },
        opts: { jobId: jobIdOf('batch', digest), ...RETENTION, removeOnComplete: true, ...TIMER_RETRIES },
      });
    }
    return jobs;
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
