import { Queue } from 'bullmq';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { QUEUES, type TimerQueueJob } from '../../jobs/queues.ts';
import { dueMember, ScheduleStore } from '../../jobs/schedule-store.ts';
import { Scheduler } from '../../jobs/scheduler.ts';
import type { Schedule } from '../../src/engine/state.ts';
import { useRedis } from '../support/redis.ts';

const redisFixture = useRedis();
const NOW = Date.parse('2026-03-02T06:00:00Z');
const BERLIN: Schedule = {
  timezone: 'Europe/Berlin',
  drillTime: '08:00',
  reminderTime: '20:30',
  quietHours: { start: '22:00', end: '07:00' },
};
const KATHMANDU: Schedule = { ...BERLIN, timezone: 'Asia/Kathmandu', quietHours: null };

const storeOf = () => new ScheduleStore(redisFixture.redis, redisFixture.prefix());
const scoresOf = async (store: ScheduleStore) =>
  Object.fromEntries(
    (await redisFixture.redis.zrange(store.dueKey, 0, -1, 'WITHSCORES')).flatMap((v, i, all) =>
      i % 2 === 0 ? [[v, Number(all[i + 1])]] : [],
    ),
  );

describe('the schedule store’s encoding', () => {
  it('keeps a schedule and its entries as short strings, and reads them back', async () => {
    const store = storeOf();
    await store.set('tg:1', BERLIN, NOW);
    await store.set('tg:2', KATHMANDU, NOW);
    await store.wakeAt('tg:1', NOW + 1_800_000, 'snooze_due');

    expect(await redisFixture.redis.hget(store.schedulesKey, 'tg:1')).toBe(
      'Europe/Berlin 08:00 20:30 22:00-07:00',
    );
    expect(await redisFixture.redis.hget(store.schedulesKey, 'tg:2')).toBe('Asia/Kathmandu 08:00 20:30');
    expect(Object.keys(await scoresOf(store)).sort()).toEqual([
      'd tg:1',
      'd tg:2',
      'r tg:1',
      'r tg:2',
      `s@${NOW + 1_800_000} tg:1`,
    ]);
    const schedules = await store.schedulesOf(['tg:1', 'tg:2', 'tg:3']);
    expect(Object.fromEntries(schedules)).toEqual({ 'tg:1': BERLIN, 'tg:2': KATHMANDU });

    const { entries } = await store.due(NOW + 1_800_000, 10);
    expect(entries).toEqual([
      {
        member: `s@${NOW + 1_800_000} tg:1`,
        at: NOW + 1_800_000,
        timer: 'snooze_due',
        patientId: 'tg:1',
        once: true,
      },
    ]);
  });

  it('finds one patient’s entries only, whatever characters the id holds', async () => {
    const store = storeOf();
    const odd = 'sl:T1:U "*?[x] 1';
    for (const id of ['tg:1', 'tg:11', 'xtg:1', odd]) await store.set(id, KATHMANDU, NOW);
    await store.wakeAt(odd, NOW + 60_000, 'snooze_due');
    expect((await store.membersOf('tg:1')).sort()).toEqual(['d tg:1', 'r tg:1']);
    expect((await store.membersOf(odd)).sort()).toEqual([`d ${odd}`, `r ${odd}`, `s@${NOW + 60_000} ${odd}`]);
    await store.remove(odd);
    expect(await redisFixture.redis.zcard(store.dueKey)).toBe(6);
    expect(await redisFixture.redis.hexists(store.schedulesKey, odd)).toBe(0);
  });
});

describe('entries and schedules written in the earlier JSON form', () => {
  async function legacy() {
    const store = storeOf();
    const { redis } = redisFixture;
    await redis.hset(store.schedulesKey, 'tg:1', JSON.stringify(BERLIN), 'tg:2', JSON.stringify(KATHMANDU));
    await redis.zadd(
      store.dueKey,
      NOW + 1000,
      JSON.stringify(['drills_due', 'tg:1']),
      NOW + 2000,
      JSON.stringify(['checkin_reminder', 'tg:1']),
      NOW + 3000,
      JSON.stringify(['snooze_due', 'tg:1', NOW + 3000]),
      NOW + 4000,
      JSON.stringify(['drills_due', 'tg:2']),
    );
    return store;
  }

  it('are still read, found and removed', async () => {
    const store = await legacy();
    expect(Object.fromEntries(await store.schedulesOf(['tg:1', 'tg:2']))).toEqual({
      'tg:1': BERLIN,
      'tg:2': KATHMANDU,
    });
    const { entries } = await store.due(NOW + 3000, 10);
    expect(entries.map(({ timer, patientId, at, once }) => ({ timer, patientId, at, once }))).toEqual([
      { timer: 'drills_due', patientId: 'tg:1', at: NOW + 1000, once: false },
      { timer: 'checkin_reminder', patientId: 'tg:1', at: NOW + 2000, once: false },
      { timer: 'snooze_due', patientId: 'tg:1', at: NOW + 3000, once: true },
    ]);
    expect(await store.membersOf('tg:1')).toHaveLength(3);
    await store.remove('tg:1');
    expect(Object.keys(await scoresOf(store))).toEqual([JSON.stringify(['drills_due', 'tg:2'])]);
  });

  it('are rewritten by the repair sweep at their times, and not counted as missing', async () => {
    const store = await legacy();
    // One recurring entry of tg:2 is genuinely missing: that one is repaired.
    expect(await store.repair(NOW)).toBe(1);
    const scores = await scoresOf(store);
    expect(scores).toMatchObject({
      'd tg:1': NOW + 1000,
      'r tg:1': NOW + 2000,
      [dueMember('snooze_due', 'tg:1', NOW + 3000)]: NOW + 3000,
      'd tg:2': NOW + 4000,
    });
    expect(Object.keys(scores).sort()).toEqual([
      'd tg:1',
      'd tg:2',
      'r tg:1',
      'r tg:2',
      `s@${NOW + 3000} tg:1`,
    ]);
    expect(await redisFixture.redis.hgetall(store.schedulesKey)).toEqual({
      'tg:1': 'Europe/Berlin 08:00 20:30 22:00-07:00',
      'tg:2': 'Asia/Kathmandu 08:00 20:30',
    });
    expect(await store.repair(NOW)).toBe(0);
  });

  it('give way when a patient’s schedule is set again', async () => {
    const store = await legacy();
    await store.set('tg:1', KATHMANDU, NOW);
    expect((await store.membersOf('tg:1')).sort()).toEqual(
      ['d tg:1', 'r tg:1', JSON.stringify(['snooze_due', 'tg:1', NOW + 3000])].sort(),
    );
  });
});

it('drops an entry it cannot read, and goes on with the rest', async () => {
  const store = storeOf();
  await store.set('tg:1', KATHMANDU, NOW);
  await redisFixture.redis.zadd(store.dueKey, NOW - 2, 'not an entry', NOW - 1, '["drills_due"]');
  const warnings: unknown[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
  const queue = new Queue<TimerQueueJob>(QUEUES.timers, {
    connection: redisFixture.redis,
    prefix: `{${redisFixture.prefix()}q}`,
  });
  const scheduler = new Scheduler(store, queue, log, { batch: 1 });
  try {
    expect(await scheduler.tick(NOW)).toBe(0);
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
  expect(Object.keys(await scoresOf(store)).sort()).toEqual(['d tg:1', 'r tg:1']);
  expect(warnings).toMatchObject([
    { msg: 'dropped unreadable schedule entries', count: 1 },
    { msg: 'dropped unreadable schedule entries', count: 1 },
  ]);
});

it('reads a schedule it cannot parse as none, rather than failing the others', async () => {
  const store = storeOf();
  await store.set('tg:1', KATHMANDU, NOW);
  await redisFixture.redis.hset(store.schedulesKey, 'tg:2', '{"timezone":', 'tg:3', 'Nowhere 25:00 20:00');
  expect(Object.fromEntries(await store.schedulesOf(['tg:1', 'tg:2', 'tg:3']))).toEqual({
    'tg:1': KATHMANDU,
  });
  expect(await store.repair(NOW)).toBe(0);
});
