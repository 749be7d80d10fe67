import { z } from 'zod';

/** Every locale the coach speaks. Adding one means adding it here and a file in content/locales. */
export const LOCALES = ['en', 'de'] as const;
export type Locale = (typeof LOCALES)[number];
export const localeSchema = z.enum(LOCALES);

const nonEmpty = z.string().trim().min(1);
/** A sentence in every locale; a missing translation is a validation error, not a silent fallback. */
export const localizedText = z.strictObject({ en: nonEmpty, de: nonEmpty });
export const localizedList = (min: number, max: number) =>
  z.strictObject({ en: z.array(nonEmpty).min(min).max(max), de: z.array(nonEmpty).min(min).max(max) });

export const LADDER_IDS = [
  'deep_core',
  'extensors',
  'glutes',
  'lateral_core',
  'flexor_endurance',
  'hip_flexor_mobility',
  'balance',
  'loading',
] as const;
export type LadderId = (typeof LADDER_IDS)[number];
export const ladderIdSchema = z.enum(LADDER_IDS);

export const dosageSchema = z
  .strictObject({
    sets: z.int().min(1).max(6),
    /** Repetitions per set (per side when `perSide`). */
    reps: z.int().min(1).max(30).optional(),
    /** Hold per repetition, seconds. */
    holdSeconds: z.int().min(3).max(120).optional(),
    restSeconds: z.int().min(0).max(180),
    /** Eccentric work carries a tempo such as "3-1-1" (down-pause-up, seconds). */
    tempo: z
      .string()
      .regex(/^\d-\d-\d$/, 'tempo must look like 3-1-1')
      .optional(),
    perSide: z.boolean().default(false),
  })
  .refine((d) => d.reps !== undefined || d.holdSeconds !== undefined, {
    message: 'a dosage needs reps or holdSeconds',
  });

export const levelSchema = z
  .strictObject({
    name: localizedText,
    dosage: dosageSchema,
    minutes: z.number().min(1).max(8),
    targetMuscles: localizedList(1, 6),
    cues: localizedList(2, 3),
    stopIf: localizedText,
    eccentric: z.boolean().default(false),
  })
  .refine((lv) => !lv.eccentric || lv.dosage.tempo !== undefined, {
    message: 'an eccentric level needs a tempo such as 3-1-1',
    path: ['dosage', 'tempo'],
  });

export const ladderSchema = z.strictObject({
  id: ladderIdSchema,
  name: localizedText,
  levels: z.array(levelSchema).min(4),
});

export const laddersFileSchema = z
  .strictObject({
    sources: z.array(nonEmpty).min(1),
    ladders: z.array(ladderSchema),
  })
  .superRefine((f, ctx) => {
    const missing = LADDER_IDS.filter((id) => !f.ladders.some((l) => l.id === id));
    if (missing.length > 0)
      ctx.addIssue({ code: 'custom', message: `missing ladder: ${missing.join(', ')}`, path: ['ladders'] });
  })
  .refine((f) => new Set(f.ladders.map((l) => l.id)).size === f.ladders.length, {
    message: 'ladder ids must be unique',
    path: ['ladders'],
  });

const questionSchema = z.strictObject({ id: z.string().regex(/^[a-z0-9_]+$/), text: localizedText });
const bucketSchema = z.strictObject({ seconds: z.number().min(0).max(600), label: localizedText });

export const screeningFileSchema = z.strictObject({
  redFlags: z.strictObject({
    emergency: z.array(questionSchema).min(3),
    clinician: z.array(questionSchema).min(6),
    /** Words in free text that re-trigger the emergency questions (lower case, matched as substrings). */
    keywords: localizedList(3, 60),
  }),
  startBack: z.strictObject({
    attribution: localizedText,
    /** Items 1–8 are agree/disagree; item 9 is the five-point bothersomeness item. */
    items: z.array(questionSchema).length(9),
    bothersomeness: z.array(localizedText).length(5),
  }),
  movementScreen: z.strictObject({
    sideBridge: z.strictObject({
      left: localizedText,
      right: localizedText,
      buckets: z.array(bucketSchema).min(3),
    }),
    singleLegStance: z.strictObject({ text: localizedText, buckets: z.array(bucketSchema).min(4) }),
    singleLegBridge: localizedText,
    kneeToChest: localizedText,
    kneeFallout: localizedText,
  }),
});

/** Copy: flat keys to ICU message strings (intl-messageformat syntax). */
export const copyFileSchema = z.record(z.string().regex(/^[a-z0-9_.]+$/), nonEmpty);

export type Ladder = z.infer<typeof ladderSchema>;
export type Level = z.infer<typeof levelSchema>;
export type LaddersFile = z.infer<typeof laddersFileSchema>;
export type ScreeningFile = z.infer<typeof screeningFileSchema>;
