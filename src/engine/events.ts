import { z } from 'zod';
import type { ChartLabels, PainPoint, RosterLabels, RosterRow } from '../charts/charts.ts';
import { LADDER_IDS, localeSchema } from '../content/schema.ts';
import type { Reason, Schedule } from './state.ts';

export const COMMANDS = [
  'start',
  'today',
  'checkin',
  'progress',
  'settings',
  'pause',
  'resume',
  'vacation',
  'export',
  'delete',
  'help',
  'stop',
] as const;
export type Command = (typeof COMMANDS)[number];

export const TIMERS = ['drills_due', 'checkin_reminder', 'snooze_due'] as const;
export type Timer = (typeof TIMERS)[number];

export const coachActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('clear') }),
  z.strictObject({ action: z.literal('pause') }),
  z.strictObject({ action: z.literal('resume') }),
  z.strictObject({ action: z.literal('note'), text: z.string().min(1).max(2000) }),
  z.strictObject({
    action: z.literal('set_level'),
    ladder: z.enum(LADDER_IDS),
    level: z.int().min(1),
    lock: z.boolean(),
  }),
  z.strictObject({ action: z.literal('unlock'), ladder: z.enum(LADDER_IDS) }),
]);
export type CoachAction = z.infer<typeof coachActionSchema>;

/**
 * Everything that can happen to a patient, whatever the platform. Adapters build these; the
 * schema is the boundary check, so a malformed event from any source is refused in one place.
 */
const base = {
  /** Unique per delivery source (Telegram update id, Slack event id, timer key): processed once. */
  id: z.string().min(1).max(200),
  patientId: z.string().min(1).max(200),
  /** The platform's idea of the user's language, used at the first contact only. */
  localeHint: localeSchema.optional(),
  /** The platform's idea of the user's timezone (Slack profile), offered during onboarding. */
  tzHint: z.string().max(64).optional(),
};
export const inboundEventSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...base,
    kind: z.literal('command'),
    command: z.string().max(64),
    args: z.string().max(500),
  }),
  z.strictObject({ ...base, kind: z.literal('text'), text: z.string().max(4096) }),
  z.strictObject({ ...base, kind: z.literal('choice'), seq: z.int().min(0), value: z.string().max(48) }),
  z.strictObject({
    ...base,
    kind: z.literal('timer'),
    timer: z.enum(TIMERS),
    /** The patient's local date the timer was scheduled for; a timer delivered on a later day is stale. */
    date: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional(),
  }),
  /** The platform's profile changed (a Slack user's timezone): followed once the patient is set up. */
  z.strictObject({ ...base, kind: z.literal('profile'), timezone: z.string().max(64) }),
  /** The platform's word on whether messages reach the patient (a Telegram user blocked the bot). */
  z.strictObject({ ...base, kind: z.literal('reachability'), reachable: z.boolean() }),
  z.strictObject({
    ...base,
    kind: z.literal('coach'),
    coachId: z.string().min(1).max(200),
    command: coachActionSchema,
  }),
]);
export type InboundEvent = z.infer<typeof inboundEventSchema>;

export interface Choice {
  /** Short and stable: adapters put it in callback data (Telegram allows 64 bytes in all). */
  value: string;
  label: string;
}

export interface OutboundMessage {
  text: string;
  /** Rows of buttons. */
  choices?: Choice[][];
  /** The question this message asks; a tap carries it back so stale buttons are recognised. */
  seq?: number;
  /** The question this message answers: adapters close (edit) that question's message. */
  closes?: number;
  /** A picture (a progress chart) sent with the text as its caption, where the platform can. */
  image?: { png: string /* base64 */; alt: string };
  /** A chart to draw at delivery (drawing is slow and not the engine's business), then sent as `image`. */
  chart?: ChartRequest;
}

export type ChartRequest =
  | { kind: 'pain'; points: PainPoint[]; labels: ChartLabels }
  | { kind: 'roster'; rows: RosterRow[]; labels: RosterLabels };

export const COACH_ALERTS = [
  'emergency_red_flag',
  'clinician_red_flag',
  'pain_high',
  'setbacks',
  'silent',
] as const;
export type CoachAlert = (typeof COACH_ALERTS)[number];

export interface AuditEntry {
  at: number;
  kind: 'decision' | 'level_change' | 'coach' | 'red_flag' | 'consent' | 'status';
  detail: Record<string, unknown>;
}

/** What the engine asks the shell to do. The engine never performs any of these itself. */
export type Effect =
  | { type: 'send'; message: OutboundMessage }
  | { type: 'alert_coach'; alert: CoachAlert; reason: Reason }
  | { type: 'audit'; entry: AuditEntry }
  /** Replace the patient's recurring pushes; null removes them. */
  | { type: 'schedule'; schedule: Schedule | null }
  /** A one-off timer (snooze). */
  | { type: 'wake_at'; at: number; timer: Timer }
  /** The patient used a coach's invite code: they go on that coach's roster. */
  | { type: 'join_coach'; code: string }
  /** Send the patient all their data (the shell reads every key). */
  | { type: 'export' }
  /** Remove every key, schedule and queued job of the patient. */
  | { type: 'delete' };

export interface StepResult<S> {
  state: S;
  effects: Effect[];
}
