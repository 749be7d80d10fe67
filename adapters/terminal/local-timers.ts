import type { Timer } from '../../src/engine/events.ts';
import type { Schedule } from '../../src/engine/state.ts';
import { nextWallTime } from '../../src/time/local.ts';

export interface DueTimer {
  at: number;
  patientId: string;
  timer: Timer;
}

/**
 * The terminal chat's own scheduler: recurring drill and reminder times per patient plus one-off
 * wake-ups, answered by `due(from, to)`. It is what lets a simulated clock jump a day ahead and
 * still fire exactly the timers a real schedule would have fired on the way.
 */
export class LocalTimers {
  private readonly schedules = new Map<string, Schedule>();
  private wakes: DueTimer[] = [];

  set(patientId: string, schedule: Schedule | null): void {
    if (schedule) this.schedules.set(patientId, schedule);
    else {
      this.schedules.delete(patientId);
      this.wakes = this.wakes.filter((w) => w.patientId !== patientId);
    }
  }

  wakeAt(patientId: string, at: number, timer: Timer): void {
    this.wakes.push({ at, patientId, timer });
  }

  /** Timers due in (from, to], in time order. One-off wake-ups are consumed. */
  due(from: number, to: number): DueTimer[] {
    const out: DueTimer[] = [];
    for (const [patientId, s] of this.schedules) {
      for (const [wall, timer] of [
        [s.drillTime, 'drills_due'],
        [s.reminderTime, 'checkin_reminder'],
      ] as const) {
        for (
          let at = nextWallTime(from, wall, s.timezone);
          at <= to;
          at = nextWallTime(at, wall, s.timezone)
        ) {
          out.push({ at, patientId, timer });
        }
      }
    }
    const [now, later] = [this.wakes.filter((w) => w.at <= to), this.wakes.filter((w) => w.at > to)];
    this.wakes = later;
    return [...out, ...now].sort((a, b) => a.at - b.at);
  }

  /** The next recurring time of a timer for a patient after `after`, if scheduled. */
  next(patientId: string, timer: 'drills_due' | 'checkin_reminder', after: number): number | undefined {
    const s = this.schedules.get(patientId);
    if (!s) return undefined;
    return nextWallTime(after, timer === 'drills_due' ? s.drillTime : s.reminderTime, s.timezone);
  }
}
