import type { Redis } from 'ioredis';
import { ScheduleStore } from '../../jobs/schedule-store.ts';
import type { OutboundMessage } from '../../src/engine/events.ts';
import type { PatientState } from '../../src/engine/state.ts';
import { step } from '../../src/engine/step.ts';
import { encodeRecord } from '../../src/runtime/record-codec.ts';
import { keysOf } from '../../src/runtime/store.ts';
import { formatWallTime, localDate, localMinutes, nextWallTime } from '../../src/time/local.ts';
import { realContent } from './content.ts';
import { SimPatient } from './patient.ts';

/** A check-in a day, pain drifting between 2 and 4, every session done. */
const PAINS = [3, 3, 2, 4, 3, 2, 3];

/**
 * An active patient as onboarding through the pure engine leaves them, due for drills this minute
 * in `timezone`, and the drills message that push sends. With `historyDays`, the patient onboarded
 * that many days before and checked in every day since, so the record carries those days (the
 * engine's step and the record's size grow with them).
 */
export function duePatient(
  now: number,
  timezone = 'UTC',
  historyDays = 0,
): { state: PatientState; sample: OutboundMessage[] } {
  const today = localDate(now, timezone);
  const sim = new SimPatient(realContent(), {
    id: 'tg:1',
    timezone,
    // With a history, onboarded at 01:00 some days ago, before that day's drill time.
    start: new Date(
      historyDays === 0
        ? now - 3_600_000
        : nextWallTime(now - (historyDays + 1) * 86_400_000, '01:00', timezone),
    ).toISOString(),
  }).onboard();
  if (sim.state?.status !== 'active') throw new Error('onboarding the template patient failed');
  for (let d = 0; d < historyDays; d++) sim.day({ outcome: 'done', pain: PAINS[d % PAINS.length] as number });
  const minute = localMinutes(now, timezone);
  // No day record for today (so today's push is still to come), screened and heard from today (so
  // no weekly re-check or silence nudge replaces the session), and no quiet hours whatever the hour.
  const state: PatientState = {
    ...sim.state,
    days: sim.state.days.filter((day) => day.date < today),
    lastScreenOn: today,
    lastHeardOn: today,
    schedule: {
      timezone,
      drillTime: formatWallTime(minute),
      reminderTime: formatWallTime(minute + 720),
      quietHours: null,
    },
  };
  const event = { id: 'sample', patientId: 'tg:1', kind: 'timer', timer: 'drills_due', date: today } as const;
  const sample = step(state, event, now, realContent()).effects.flatMap((e) =>
    e.type === 'send' ? [e.message] : [],
  );
  return { state, sample };
}

const EMPTY = Buffer.alloc(0);

/**
 * Stores `template` for each id, in the store's record format as the store leaves every record it
 * wrote, with a schedule due at the start of `now`'s minute (`keyPrefix` as REDIS_PREFIX + ':').
 */
export async function seedDuePatients(
  redis: Redis,
  keyPrefix: string,
  template: PatientState,
  ids: readonly string[],
  now: number,
): Promise<void> {
  const schedules = new ScheduleStore(redis, keyPrefix);
  // `set` schedules the next occurrence after the instant given: the start of this minute.
  const minuteStart = now - (now % 60_000);
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const tx = redis.pipeline();
    for (const id of chunk)
      tx.set(keysOf(id, keyPrefix).state, encodeRecord({ ...template, id }, new Map(), EMPTY, []));
    await tx.exec();
    await Promise.all(chunk.map((id) => schedules.set(id, template.schedule, minuteStart - 1)));
  }
}
