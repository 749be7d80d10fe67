import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxLevel } from '../../src/content/content.ts';
import { LADDER_IDS } from '../../src/content/schema.ts';
import type { Effect } from '../../src/engine/events.ts';
import { DIFFICULTIES, OUTCOMES, PAIN_DURING } from '../../src/engine/state.ts';
import { daysBetween } from '../../src/time/local.ts';
import { realContent } from '../support/content.ts';
import { SimPatient } from '../support/patient.ts';

const content = realContent();

/** One simulated day: a check-in, silence, a red flag, or a coach override. */
const dayArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('checkin' as const),
      outcome: fc.constantFrom(...OUTCOMES),
      pain: fc.integer({ min: 0, max: 10 }),
      difficulty: fc.constantFrom(...DIFFICULTIES),
      painDuring: fc.constantFrom(...PAIN_DURING),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'silent' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'red_flag' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('coach' as const),
      ladder: fc.constantFrom(...LADDER_IDS),
      level: fc.integer({ min: 1, max: 4 }),
      lock: fc.boolean(),
    }),
  },
);

const profileArb = fc.record({
  baseline: fc.integer({ min: 0, max: 10 }),
  startBack: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 8, maxLength: 8 }),
  bother: fc.integer({ min: 0, max: 4 }),
});

interface Observed {
  p: SimPatient;
  /** Effects of drills_due timers fired while a red flag was open. */
  pushesWhileFlagged: Effect[];
  coachOverrides: number;
}

/** Lives a random history through the engine and records what the invariants need. */
type Arbitrary<A> = A extends fc.Arbitrary<infer T> ? T : never;

function live(profile: Arbitrary<typeof profileArb>, days: Arbitrary<typeof dayArb>[]): Observed {
  const p = new SimPatient(content).onboard({
    baseline: profile.baseline,
    startBack: [...profile.startBack, profile.bother],
  });
  const observed: Observed = { p, pushesWhileFlagged: [], coachOverrides: 0 };
  for (const day of days) {
    p.advanceTo();
    if (p.state?.status === 'escalated') {
      observed.pushesWhileFlagged.push(...p.timer('drills_due').filter((e) => e.type === 'send'));
      p.send({ kind: 'coach', coachId: 'coach', command: { action: 'clear' } });
      continue;
    }
    p.timer('drills_due');
    if (p.state?.ask?.q === 'recheck') for (let i = 0; i < 3; i++) p.answer('recheck', 'no');
    if (day.kind === 'silent') continue;
    if (day.kind === 'red_flag') {
      p.text('I suddenly cannot hold my bladder');
      p.answer('recheck', 'yes');
      continue;
    }
    if (day.kind === 'coach') {
      p.send({
        kind: 'coach',
        coachId: 'coach',
        command: { action: 'set_level', ladder: day.ladder, level: day.level, lock: day.lock },
      });
      observed.coachOverrides++;
      continue;
    }
    if (p.state?.ask?.q !== 'outcome') continue;
    p.answer('outcome', day.outcome);
    p.answer('pain', day.pain);
    if (day.outcome !== 'skipped') {
      p.answer('difficulty', day.difficulty);
      p.answer('pain_during', day.painDuring);
    }
  }
  return observed;
}

const settings = { numRuns: 150 };
const history = fc.array(dayArb, { minLength: 5, maxLength: 30 });

describe('DESIGN §4 invariants, as properties of the engine', () => {
  it('never progresses a ladder on a setback day', () => {
    fc.assert(
      fc.property(profileArb, history, (profile, days) => {
        const { p } = live(profile, days);
        const setbackDays = new Set(p.state?.days.filter((d) => d.decision === 'setback').map((d) => d.date));
        for (const change of p.state?.levelChanges ?? []) {
          if (change.by === 'progression' && setbackDays.has(change.date))
            expect(change.to).toBeLessThan(change.from);
        }
      }),
      settings,
    );
  });

  it('changes a ladder at most once per three days (a coach override wins, and also counts)', () => {
    fc.assert(
      fc.property(profileArb, history, (profile, days) => {
        const { p } = live(profile, days);
        const changes = p.state?.levelChanges ?? [];
        for (const [i, change] of changes.entries()) {
          if (change.by !== 'progression') continue;
          const earlier = changes.slice(0, i).filter((c) => c.ladder === change.ladder);
          for (const e of earlier) expect(daysBetween(e.date, change.date)).toBeGreaterThanOrEqual(3);
        }
      }),
      settings,
    );
  });

  it('keeps every level within its ladder', () => {
    fc.assert(
      fc.property(profileArb, history, (profile, days) => {
        const { p } = live(profile, days);
        for (const ladder of LADDER_IDS) {
          const level = p.level(ladder) ?? 1;
          expect(level).toBeGreaterThanOrEqual(1);
          expect(level).toBeLessThanOrEqual(maxLevel(content, ladder));
        }
        for (const change of p.state?.levelChanges ?? []) {
          expect(Math.abs(change.to - change.from)).toBeLessThanOrEqual(change.by === 'coach' ? 3 : 1);
        }
      }),
      settings,
    );
  });

  it('pushes nothing while a red flag is open, until a coach clears it', () => {
    fc.assert(
      fc.property(profileArb, history, (profile, days) => {
        const observed = live(profile, days);
        expect(observed.pushesWhileFlagged).toEqual([]);
        const flagged = days.filter((d) => d.kind === 'red_flag').length;
        const alerts = observed.p.effects.filter(
          (e) => e.type === 'alert_coach' && e.alert === 'emergency_red_flag',
        );
        expect(alerts.length).toBeGreaterThanOrEqual(Math.min(flagged, 1));
      }),
      settings,
    );
  });

  it('gives every decision a reason that names today’s pain, and every change that reason', () => {
    fc.assert(
      fc.property(profileArb, history, (profile, days) => {
        const { p } = live(profile, days);
        const decisions = p.effects.flatMap((e) =>
          e.type === 'audit' && e.entry.kind === 'decision' ? [e.entry.detail] : [],
        );
        for (const detail of decisions) {
          const day = p.state?.days.find((d) => d.date === detail.date);
          const reason = detail.reason as { params: { pain: number } };
          expect(reason.params.pain).toBe(day?.pain);
        }
        const decided = p.state?.days.filter((d) => d.decision).length ?? 0;
        expect(decisions.length).toBe(decided);
        for (const change of p.state?.levelChanges ?? []) {
          expect(typeof change.reason.params.pain === 'number' || change.by === 'coach').toBe(true);
        }
        // The patient sees the reason: each decision message quotes today's pain.
        const texts = p.messages().map((m) => m.text);
        for (const day of p.state?.days.filter((d) => d.decision) ?? []) {
          expect(texts.some((t) => t.includes(`pain ${day.pain} `) || t.includes(`pain ${day.pain},`))).toBe(
            true,
          );
        }
      }),
      settings,
    );
  });

  it('lets a coach override win, and audits it', () => {
    fc.assert(
      fc.property(profileArb, history, (profile, days) => {
        const observed = live(profile, days);
        const audits = observed.p.effects.filter(
          (e) => e.type === 'audit' && e.entry.kind === 'coach' && e.entry.detail.action === 'set_level',
        );
        expect(audits.length).toBe(observed.coachOverrides);
        // A ladder a coach set and locked is never moved by progression afterwards (nothing unlocks here).
        const changes = observed.p.state?.levelChanges ?? [];
        for (const [i, change] of changes.entries()) {
          if (change.by !== 'coach' || !observed.p.state?.levels[change.ladder]?.locked) continue;
          const laterCoach = changes.slice(i + 1).some((c) => c.by === 'coach' && c.ladder === change.ladder);
          if (laterCoach) continue;
          const laterProgression = changes
            .slice(i + 1)
            .filter((c) => c.by === 'progression' && c.ladder === change.ladder);
          expect(laterProgression).toEqual([]);
          expect(observed.p.level(change.ladder)).toBe(change.to);
        }
      }),
      settings,
    );
  });
});
