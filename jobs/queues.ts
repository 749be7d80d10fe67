import type { JobsOptions } from 'bullmq';
import type { OutboundMessage, Timer } from '../src/engine/events.ts';

/** Queue names; one prefix per deployment keeps several on one Redis apart. */
export const QUEUES = { timers: 'timers', outbox: 'outbox' } as const;

export interface TimerJob {
  patientId: string;
  timer: Timer;
  /** The patient's local date the timer belongs to (recurring timers only). */
  date?: string;
  /** The instant it was scheduled for. */
  at: number;
}

/** The messages of one engine step, in order: one job, so they cannot overtake one another. */
export interface DeliveryJob {
  patientId: string;
  messages: OutboundMessage[];
}

/**
 * A BullMQ job id from parts. Ids are the idempotency keys: the same timer for the same local date,
 * or the same message of the same step, is one job however often it is added. BullMQ refuses ':'
 * in custom ids, and patient ids carry one, so parts are URI-encoded.
 */
export function jobIdOf(...parts: (string | number)[]): string {
  return parts.map((p) => encodeURIComponent(String(p))).join('|');
}

/** Completed jobs are kept two days so a re-add of the same id within that time is a no-op. */
export const KEEP_FOR_DEDUP: JobsOptions = {
  removeOnComplete: { age: 2 * 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};
