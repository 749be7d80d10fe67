import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { OutboundMessage, Timer } from '../../src/engine/events.ts';
import type { Schedule as PatientSchedule } from '../../src/engine/state.ts';
import { CoachRuntime, type EffectPorts } from '../../src/runtime/coach-runtime.ts';
import type { PatientExport } from '../../src/runtime/store.ts';
import { PatientStore } from '../../src/runtime/store.ts';
import { realContent } from './content.ts';

/** Ports that remember every effect the runtime performed, for assertions. */
export class RecordingPorts implements EffectPorts {
  /** `fresh`: the runtime said the key was never used (see EffectPorts.send). */
  sent: { patientId: string; message: OutboundMessage; key: string; fresh: boolean }[] = [];
  /** Makes the next `failSends` sends throw, as a crash or an unreachable queue would. */
  failSends = 0;
  alerts: Parameters<EffectPorts['alertCoach']>[0][] = [];
  joins: { patientId: string; code: string }[] = [];
  schedules: { patientId: string; schedule: PatientSchedule | null }[] = [];
  wakes: { patientId: string; at: number; timer: Timer }[] = [];
  exports: { patientId: string; data: PatientExport }[] = [];

  send = async (patientId: string, messages: OutboundMessage[], key: string, fresh: boolean) => {
    if (this.failSends > 0) {
      this.failSends--;
      throw new Error('the outbox is unreachable');
    }
    for (const message of messages) this.sent.push({ patientId, message, key, fresh });
  };
  /** Keys of the sends the runtime asked to go straight out (`sendNow`), which are in `sent` too. */
  direct: string[] = [];
  sendNow = async (patientId: string, messages: OutboundMessage[], key: string, fresh: boolean) => {
    await this.send(patientId, messages, key, fresh);
    this.direct.push(key);
  };
  alertCoach = async (alert: Parameters<EffectPorts['alertCoach']>[0]) => {
    this.alerts.push(alert);
  };
  joinCoach = async (patientId: string, code: string) => {
    this.joins.push({ patientId, code });
  };
  schedule = async (patientId: string, schedule: PatientSchedule | null) => {
    this.schedules.push({ patientId, schedule });
  };
  wakeAt = async (patientId: string, at: number, timer: Timer) => {
    this.wakes.push({ patientId, at, timer });
  };
  deliverExport = async (patientId: string, data: PatientExport) => {
    this.exports.push({ patientId, data });
  };
}

export function makeRuntime(redis: Redis, prefix: string, clock: () => number) {
  const store = new PatientStore(redis, { prefix });
  const ports = new RecordingPorts();
  const runtime = new CoachRuntime(store, realContent(), ports, clock, pino({ level: 'silent' }));
  return { store, ports, runtime };
}
