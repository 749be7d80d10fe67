import { z } from 'zod';
import { LADDER_IDS, ladderIdSchema, localeSchema } from '../content/schema.ts';

/** A local calendar date, YYYY-MM-DD, in the patient's own zone. */
export const localDateSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
/** A local wall time, HH:MM. */
export const wallTimeSchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/);

export const STATUSES = [
  'new', // talked to us, no consent yet
  'declined', // refused consent: nothing beyond the refusal is kept
  'onboarding',
  'active',
  'paused', // by the patient or a coach
  'escalated', // emergency red flag: nothing is pushed until a coach clears
  'clinician_hold', // clinician red flag: see a clinician, a coach clears
  'stopped', // /stop: no pushes, data kept until /delete
] as const;
export type Status = (typeof STATUSES)[number];

export const DIFFICULTIES = ['too_easy', 'about_right', 'too_hard'] as const;
export const PAIN_DURING = ['none', 'mild', 'moderate', 'severe'] as const;
export const OUTCOMES = ['done', 'partly', 'skipped'] as const;
export const RISK_GROUPS = ['low', 'medium', 'high'] as const;
export const AGE_BANDS = ['u20', '20_39', '40_50', '51_59', '60_69', '70p'] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];
export type PainDuring = (typeof PAIN_DURING)[number];
export type Outcome = (typeof OUTCOMES)[number];
export type RiskGroup = (typeof RISK_GROUPS)[number];
export type AgeBand = (typeof AGE_BANDS)[number];

const pain = z.int().min(0).max(10);

export const sessionPlanSchema = z.strictObject({
  drills: z.array(z.strictObject({ ladder: ladderIdSchema, level: z.int().min(1) })).min(1),
  /** The five-minute minimum session offered after two skipped days. */
  minimal: z.boolean(),
});
export type SessionPlan = z.infer<typeof sessionPlanSchema>;

export const dayRecordSchema = z.strictObject({
  date: localDateSchema,
  session: sessionPlanSchema.optional(),
  /** When the day's drills were pushed by the schedule (at most once per local date). */
  pushedAt: z.number().optional(),
  remindedAt: z.number().optional(),
  outcome: z.enum(OUTCOMES).optional(),
  pain: pain.optional(),
  difficulty: z.enum(DIFFICULTIES).optional(),
  painDuring: z.enum(PAIN_DURING).optional(),
  decision: z.enum(['setback', 'breakthrough', 'hold']).optional(),
});
export type DayRecord = z.infer<typeof dayRecordSchema>;

export const ladderStateSchema = z.strictObject({
  level: z.int().min(1),
  /** Local date of the last level change (for the one-change-per-three-days rule). */
  changedOn: localDateSchema.nullable(),
  /** A coach lock: progression leaves this ladder alone. */
  locked: z.boolean(),
});
export type LadderState = z.infer<typeof ladderStateSchema>;

/** A message to render later in the patient's locale: copy key plus its parameters. */
export const reasonSchema = z.strictObject({
  key: z.string(),
  params: z.record(z.string(), z.union([z.number(), z.string()])),
});
export type Reason = z.infer<typeof reasonSchema>;

export const levelChangeSchema = z.strictObject({
  date: localDateSchema,
  ladder: ladderIdSchema,
  from: z.int(),
  to: z.int(),
  by: z.enum(['progression', 'coach']),
  reason: reasonSchema,
});
export type LevelChange = z.infer<typeof levelChangeSchema>;

export const QUESTIONS = [
  'consent',
  'emergency', // i: item index
  'age',
  'clinician', // i: item index
  'baseline',
  'startback', // i: item index
  'side_left',
  'side_right',
  'stance',
  'sl_bridge',
  'knee_chest',
  'knee_fallout',
  'drill_time',
  'timezone',
  'quiet_hours',
  'outcome', // the day's session: done / partly / skip / snooze
  'pain',
  'difficulty',
  'pain_during',
  'recheck', // weekly emergency re-screen, i: item index
  'settings',
  'reminder_time',
  'language',
  'vacation',
  'delete_confirm',
] as const;
export type Question = (typeof QUESTIONS)[number];

export const askSchema = z.strictObject({
  /** Increments with every question so a tap on an old button can be told apart. */
  seq: z.int().min(1),
  q: z.enum(QUESTIONS),
  i: z.int().min(0),
  /** Where to return after a detour (settings during onboarding, recheck before the session). */
  after: z.enum(['session', 'settings', 'consent']).optional(),
  /** The question a detour interrupted (a red-flag re-check prompted by free text), to return to. */
  prev: z.strictObject({ q: z.enum(QUESTIONS), i: z.int().min(0) }).optional(),
});
export type Ask = z.infer<typeof askSchema>;

export const scheduleSchema = z.strictObject({
  timezone: z.string().min(1),
  drillTime: wallTimeSchema,
  reminderTime: wallTimeSchema,
  quietHours: z.strictObject({ start: wallTimeSchema, end: wallTimeSchema }).nullable(),
});
export type Schedule = z.infer<typeof scheduleSchema>;

export const profileSchema = z.strictObject({
  ageBand: z.enum(AGE_BANDS).optional(),
  newPain: z.boolean().optional(),
  baselinePain: pain.optional(),
  startBack: z.array(z.int().min(0).max(1)).max(9),
  riskGroup: z.enum(RISK_GROUPS).optional(),
  sideLeft: z.number().optional(),
  sideRight: z.number().optional(),
  stanceSeconds: z.number().optional(),
  slBridgeOk: z.boolean().optional(),
  kneeChestThighLifts: z.boolean().optional(),
  kneeFalloutRocks: z.boolean().optional(),
  deficits: z.array(ladderIdSchema),
  redFlags: z.array(z.string()),
});
export type Profile = z.infer<typeof profileSchema>;

export const patientStateSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1),
  locale: localeSchema,
  status: z.enum(STATUSES),
  /** Status to return to when a pause or hold ends. */
  resumeTo: z.enum(['onboarding', 'active']).optional(),
  createdAt: z.number(),
  ask: askSchema.nullable(),
  /** The last question number used, so numbers never repeat even after a question is cleared. */
  lastSeq: z.int().min(0),
  profile: profileSchema,
  schedule: scheduleSchema,
  levels: z.partialRecord(z.enum(LADDER_IDS), ladderStateSchema),
  days: z.array(dayRecordSchema),
  levelChanges: z.array(levelChangeSchema),
  vacationUntil: localDateSchema.nullable(),
  pausedBy: z.enum(['patient', 'coach']).nullable(),
  /** Last local date the patient said anything; silence is counted from here. */
  lastHeardOn: localDateSchema.nullable(),
  lastScreenOn: localDateSchema.nullable(),
  /** Local dates on which a non-adherence message was already sent, so none repeats. */
  nudges: z.strictObject({
    silentOn: localDateSchema.nullable(),
    coachSilentOn: localDateSchema.nullable(),
  }),
  coachCode: z.string().max(64).nullable(),
  /** Since when the platform says the patient cannot be reached (blocked the bot); pushes stop. */
  unreachableSince: localDateSchema.optional(),
  coachNotes: z.array(z.strictObject({ at: z.number(), text: z.string().max(2000) })),
});
export type PatientState = z.infer<typeof patientStateSchema>;

export const DEFAULT_SCHEDULE: Schedule = {
  timezone: 'UTC',
  drillTime: '08:00',
  reminderTime: '20:00',
  quietHours: { start: '22:00', end: '07:00' },
};

/** The recurring pushes a patient should have: none unless active and reachable. */
export function pushesOf(state: PatientState | null): Schedule | null {
  return state?.status === 'active' && state.unreachableSince === undefined ? state.schedule : null;
}

export function newPatient(id: string, locale: PatientState['locale'], now: number): PatientState {
  return {
    v: 1,
    id,
    locale,
    status: 'new',
    createdAt: now,
    ask: null,
    lastSeq: 0,
    profile: { startBack: [], deficits: [], redFlags: [] },
    schedule: DEFAULT_SCHEDULE,
    levels: {},
    days: [],
    levelChanges: [],
    vacationUntil: null,
    pausedBy: null,
    lastHeardOn: null,
    lastScreenOn: null,
    nudges: { silentOn: null, coachSilentOn: null },
    coachCode: null,
    coachNotes: [],
  };
}
