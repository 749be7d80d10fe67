import { Queue } from 'bullmq';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  jobIdOf,
  QUEUES,
  TIMER_RETRIES,
  type TimerJob,
  type TimerQueueJob,
  timersOf,
} from '../../jobs/queues.ts';
import { dueMember, ScheduleStore } from '../../jobs/schedule-store.ts';
import { Scheduler } from '../../jobs/scheduler.ts';
import type { Schedule } from '../../src/engine/state.ts';
import { addDays, localDate } from '../../src/time/local.ts';
import { useRedis } from '../support/redis.ts';

const redisFixture = useRedis();
const log = pino({ level: 'silent' });
const queues: Queue[] = [];
afterAll(async () => {
  for (const q of queues) await q.obliterate({ force: true });
  await Promise.all(queues.map((q) => q.close()));
});

function setup() {
  const prefix = redisFixture.prefix();
  const store = new ScheduleStore(redisFixture.redis, prefix);
  const queue = new Queue<TimerQueueJob>(QUEUES.timers, {
    connection: redisFixture.redis,
    prefix: `{${prefix}q}`,
  });
  queues.push(queue);
  return { store, queue, scheduler: new Scheduler(store, queue, log) };
}

/** The timers of the waiting jobs, whether each is a job of its own or in a batch. */
async function waitingTimers(s: ReturnType<typeof setup>): Promise<(TimerJob & { id: string })[]> {
  return (await s.queue.getJobs(['waiting'])).flatMap((j) => timersOf(j.data, j.id));
}

/** The controllable clock: jump straight to the next due entry, tick there, until `end`. */
async function runUntil(s: ReturnType<typeof setup>, start: number, end: number): Promise<number> {
  let clock = start;
  for (;;) {
    const [, score] = await redisFixture.redis.zrange(s.store.dueKey, 0, 0, 'WITHSCORES');
    if (score === undefined || Number(score) > end) return clock;
    clock = Math.max(clock, Number(score));
    await s.scheduler.tick(clock);
  }
}

const schedule = (timezone: string, drillTime: string): Schedule => ({
  timezone,
  drillTime,
  reminderTime: '20:00',
  quietHours: null,
});

const wall = (at: number, zone: string) => DateTime.fromMillis(at, { zone }).toFormat('HH:mm');

describe('schedules across the 2026 daylight-saving changes', () => {
  const cases: { zone: string; drillTime: string; gapDay?: string; gapFires?: string; foldDay?: string }[] = [
    { zone: 'America/New_York', drillTime: '02:30', gapDay: '2026-03-08', gapFires: '03:00' },
    { zone: 'America/New_York', drillTime: '01:30', foldDay: '2026-11-01' },
    {
      zone: 'Europe/Berlin',
      drillTime: '02:30',
      gapDay: '2026-03-29',
      gapFires: '03:00',
      foldDay: '2026-10-25',
    },
    { zone: 'Australia/Lord_Howe', drillTime: '02:15', gapDay: '2026-10-04', gapFires: '02:30' },
    { zone: 'Australia/Lord_Howe', drillTime: '01:45', foldDay: '2026-04-05' },
    { zone: 'Asia/Kathmandu', drillTime: '08:00' },
    {
      zone: 'Pacific/Chatham',
      drillTime: '02:50',
      gapDay: '2026-09-27',
      gapFires: '03:45',
      foldDay: '2026-04-05',
    },
    { zone: 'Europe/Berlin', drillTime: '08:00' },
  ];

  it.each(cases)('$zone at $drillTime: one push per local day, at the wall time', async (c) => {
    const s = setup();
    const start = DateTime.fromISO('2026-01-01T00:00', { zone: c.zone }).toMillis();
    const end = DateTime.fromISO('2027-01-01T00:00', { zone: c.zone }).toMillis() - 1;
    await s.store.set('p1', schedule(c.zone, c.drillTime), start);
    await runUntil(s, start, end);
    const jobs = (await waitingTimers(s)).filter((d) => d.timer === 'drills_due');
    const byDate = new Map<string, TimerJob[]>();
    for (const job of jobs) byDate.set(job.date ?? '', [...(byDate.get(job.date ?? '') ?? []), job]);
    // Every local date of 2026 exactly once.
    let date = '2026-01-01';
    let days = 0;
    while (date < '2027-01-01') {
      expect(byDate.get(date)?.length, `${c.zone} ${date}`).toBe(1);
      const job = byDate.get(date)?.[0] as TimerJob;
      expect(localDate(job.at, c.zone)).toBe(date);
      const expected = date === c.gapDay ? c.gapFires : c.drillTime;
      expect(wall(job.at, c.zone), `${c.zone} ${date}`).toBe(expected);
      date = addDays(date, 1);
      days++;
    }
    expect(days).toBe(365);
    expect(jobs).toHaveLength(365);
    // A repeated wall time fires once, at its first occurrence: the same wall time comes round
    // again later that night, and never in the two hours before.
    if (c.foldDay) {
      const fold = byDate.get(c.foldDay)?.[0] as TimerJob;
      const minutes = (n: number) => Array.from({ length: n }, (_, i) => (i + 1) * 60_000);
      expect(minutes(120).some((m) => wall(fold.at + m, c.zone) === c.drillTime)).toBe(true);
      expect(minutes(120).some((m) => wall(fold.at - m, c.zone) === c.drillTime)).toBe(false);
    }
  });

  it('adds a push once however often the scheduler runs or the schedule is re-upserted', async () => {
    const s = setup();
    const start = Date.parse('2026-03-02T06:00:00Z');
    const sched = schedule('Europe/Berlin', '08:00');
    await s.store.set('p1', sched, start);
    const due = Date.parse('2026-03-02T07:00:00Z');
    const second = new Scheduler(s.store, s.queue, log);
    for (let i = 0; i < 5; i++) {
      await s.store.set('p1', sched, start); // a re-upsert puts the entry back to today's 08:00
      await Promise.all([s.scheduler.tick(due), second.tick(due + 1000)]);
    }
    const jobs = (await waitingTimers(s)).filter((t) => t.timer === 'drills_due');
    expect(jobs.map((j) => j.date)).toEqual(['2026-03-02']);
  });

  it('catches up a push missed while down once if its day is still running, never an old day', async () => {
    const s = setup();
    const start = Date.parse('2026-03-02T06:00:00Z');
    await s.store.set('p1', schedule('Europe/Berlin', '08:00'), start);
    // Down from before 08:00 on 2 March until 11:00 on 4 March: 2 and 3 March are over.
    await s.scheduler.tick(Date.parse('2026-03-04T10:00:00Z'));
    let jobs = (await waitingTimers(s)).filter((t) => t.timer === 'drills_due');
    expect(jobs).toEqual([]);
    await runUntil(s, Date.parse('2026-03-04T10:00:00Z'), Date.parse('2026-03-05T23:00:00Z'));
    jobs = (await waitingTimers(s)).filter((t) => t.timer === 'drills_due');
    expect(jobs.map((j) => j.date).sort()).toEqual(['2026-03-05']);
    // Down across one drill time on the same day: caught up when the scheduler comes back.
    const t = setup();
    await t.store.set('p2', schedule('Europe/Berlin', '08:00'), start);
    await t.scheduler.tick(Date.parse('2026-03-02T10:30:00Z'));
    const caught = (await waitingTimers(t)).filter((t) => t.timer === 'drills_due');
    expect(caught.map((j) => j.date)).toEqual(['2026-03-02']);
  });

  it('moves, pauses and removes schedules, and repairs a lost entry', async () => {
    const s = setup();
    const start = Date.parse('2026-03-02T06:00:00Z');
    await s.store.set('p1', schedule('Europe/Berlin', '08:00'), start);
    await s.store.set('p1', schedule('Europe/Berlin', '09:30'), start);
    const [, score] = await redisFixture.redis.zrange(s.store.dueKey, 0, 0, 'WITHSCORES');
    expect(wall(Number(score), 'Europe/Berlin')).toBe('09:30');
    await s.store.wakeAt('p1', start + 3_600_000, 'snooze_due');
    await s.store.set('p1', null, start);
    expect(await redisFixture.redis.zcard(s.store.dueKey)).toBe(0);
    expect(await redisFixture.redis.hlen(s.store.schedulesKey)).toBe(0);

    await s.store.set('p2', schedule('Asia/Kathmandu', '08:00'), start);
    await redisFixture.redis.zrem(s.store.dueKey, dueMember('drills_due', 'p2'));
    expect(await s.store.repair(start)).toBe(1);
    expect(await s.store.repair(start)).toBe(0);
  });

  it('turns a snooze into one job at its time', async () => {
    const s = setup();
    const at = Date.parse('2026-03-02T08:00:00Z');
    await s.store.wakeAt('p1', at, 'snooze_due');
    expect(await s.scheduler.tick(at - 1)).toBe(0);
    expect(await s.scheduler.tick(at)).toBe(1);
    expect(await s.scheduler.tick(at + 1)).toBe(0);
    const jobs = await s.queue.getJobs(['waiting']);
    expect(jobs.map((j) => j.data)).toEqual([{ patientId: 'p1', timer: 'snooze_due', at }]);
  });

  it('puts timers due together in batches, each timer once, with the id it would have alone', async () => {
    const s = setup();
    const scheduler = new Scheduler(s.store, s.queue, log, { timersPerJob: 4 });
    const start = Date.parse('2026-03-02T06:00:00Z');
    const ids = Array.from({ length: 10 }, (_, i) => `tg:${i + 1}`);
    for (const id of ids) await s.store.set(id, schedule('Europe/Berlin', '08:00'), start);
    const due = Date.parse('2026-03-02T07:00:00Z');
    expect(await scheduler.tick(due)).toBe(10);
    const jobs = await s.queue.getJobs(['waiting']);
    expect(jobs.map((j) => j.name)).toEqual(['batch', 'batch', 'batch']);
    expect(jobs.map((j) => timersOf(j.data, j.id).length).sort()).toEqual([2, 4, 4]);
    const timers = await waitingTimers(s);
    expect(timers.map((t) => t.patientId).sort()).toEqual([...ids].sort());
    for (const t of timers) expect(t.id).toBe(jobIdOf('drills_due', t.patientId, '2026-03-02'));
    // Done, a batch leaves no job naming its patients behind.
    expect(jobs.every((j) => j.opts.removeOnComplete === true)).toBe(true);
  });

  it('gives every timer job, alone or in a batch, its retries', async () => {
    const s = setup();
    const start = Date.parse('2026-03-02T06:00:00Z');
    await s.store.set('tg:1', schedule('Europe/Berlin', '08:00'), start);
    await s.store.set('tg:2', schedule('Europe/Berlin', '08:30'), start);
    await s.store.set('tg:3', schedule('Europe/Berlin', '08:30'), start);
    await runUntil(s, start, Date.parse('2026-03-02T07:30:00Z'));
    const jobs = await s.queue.getJobs(['waiting']);
    expect(jobs.map((j) => j.name).sort()).toEqual(['batch', 'drills_due']);
    for (const job of jobs) {
      expect(job.opts.attempts).toBe(TIMER_RETRIES.attempts);
      expect(job.opts.backoff).toEqual(TIMER_RETRIES.backoff);
    }
  });
});
