import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BIG_THREE } from '../../src/clinical/movementScreen.ts';
import { maxLevel } from '../../src/content/content.ts';
import { LADDER_IDS, type LadderId } from '../../src/content/schema.ts';
import { newPatient, type PatientState } from '../../src/engine/state.ts';
import {
  buildSession,
  MINIMAL_SESSION_MINUTES,
  minimalSession,
  SESSION_LIMITS,
  sessionMinutes,
} from '../../src/programme/session.ts';
import { loadContent } from '../../src/runtime/content-loader.ts';

const content = loadContent('content');

function patient(deficits: readonly LadderId[], levels: Partial<Record<LadderId, number>>): PatientState {
  const state = newPatient('session:1', 'en', Date.parse('2026-03-02T06:00:00Z'));
  state.profile.deficits = [...deficits];
  for (const [ladder, level] of Object.entries(levels)) {
    state.levels[ladder as LadderId] = { level, changedOn: null, locked: false };
  }
  return state;
}

const allAt = (level: number) =>
  Object.fromEntries(LADDER_IDS.map((l) => [l, level])) as Record<LadderId, number>;

const deficitsArb = fc.subarray([...LADDER_IDS]);
const levelsArb = fc.record(
  Object.fromEntries(LADDER_IDS.map((l) => [l, fc.integer({ min: 1, max: 4 })])) as Record<
    LadderId,
    fc.Arbitrary<number>
  >,
);
const dayArb = fc.nat({ max: 10_000 });

describe('buildSession (real content)', () => {
  it('has ladders of at least four levels to draw from', () => {
    for (const ladder of LADDER_IDS) expect(maxLevel(content, ladder), ladder).toBeGreaterThanOrEqual(4);
  });

  it('always has 4–6 drills, 10–20 minutes, the big three, no duplicate ladder, the state’s levels', () => {
    fc.assert(
      fc.property(deficitsArb, levelsArb, dayArb, (deficits, levels, day) => {
        const state = patient(deficits, levels);
        const plan = buildSession(state, content, day);
        const ladders = plan.drills.map((d) => d.ladder);

        expect(plan.minimal).toBe(false);
        expect(plan.drills.length).toBeGreaterThanOrEqual(SESSION_LIMITS.minDrills);
        expect(plan.drills.length).toBeGreaterThanOrEqual(4);
        expect(plan.drills.length).toBeLessThanOrEqual(6);
        const minutes = sessionMinutes(content, plan);
        expect(minutes).toBeGreaterThanOrEqual(10);
        expect(minutes).toBeLessThanOrEqual(20);
        for (const big of ['deep_core', 'extensors', 'lateral_core'] as const) expect(ladders).toContain(big);
        expect(new Set(ladders).size).toBe(ladders.length);
        for (const drill of plan.drills) {
          expect(LADDER_IDS).toContain(drill.ladder);
          expect(drill.level).toBe(levels[drill.ladder]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('puts the patient’s other deficits before non-deficit ladders, and drops one only when it cannot fit', () => {
    fc.assert(
      fc.property(deficitsArb, levelsArb, dayArb, (deficits, levels, day) => {
        const plan = buildSession(patient(deficits, levels), content, day);
        const others = plan.drills.map((d) => d.ladder).filter((l) => !BIG_THREE.includes(l));
        const firstNonDeficit = others.findIndex((l) => !deficits.includes(l));
        if (firstNonDeficit >= 0) {
          expect(
            others.slice(firstNonDeficit).every((l) => !deficits.includes(l)),
            `deficits ${deficits.join(',')} but order ${others.join(',')}`,
          ).toBe(true);
        }
        const minutes = sessionMinutes(content, plan);
        for (const missing of deficits.filter((l) => !plan.drills.some((d) => d.ladder === l))) {
          const theirs = content.ladders.get(missing)?.levels[levels[missing] - 1]?.minutes ?? 0;
          const full = plan.drills.length >= 6 || minutes + theirs > 20;
          expect(full, `deficit ${missing} left out of ${plan.drills.map((d) => d.ladder).join(',')}`).toBe(
            true,
          );
        }
      }),
      { numRuns: 500 },
    );
  });

  it('starts with the big three', () => {
    fc.assert(
      fc.property(deficitsArb, levelsArb, dayArb, (deficits, levels, day) => {
        const plan = buildSession(patient(deficits, levels), content, day);
        expect(
          plan.drills
            .slice(0, 3)
            .map((d) => d.ladder)
            .sort(),
        ).toEqual([...BIG_THREE].sort());
      }),
    );
  });

  it('rotates the rest: over 5 consecutive days without deficits every ladder appears', () => {
    fc.assert(
      fc.property(levelsArb, dayArb, (levels, start) => {
        const state = patient([], levels);
        const seen = new Set<LadderId>();
        for (let day = start; day < start + 5; day++) {
          for (const drill of buildSession(state, content, day).drills) seen.add(drill.ladder);
        }
        expect([...seen].sort()).toEqual([...LADDER_IDS].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('does not always pick the same extra ladders (the day number matters)', () => {
    const state = patient([], allAt(1));
    const plans = new Set([0, 1, 2, 3, 4].map((d) => JSON.stringify(buildSession(state, content, d).drills)));
    expect(plans.size).toBeGreaterThan(1);
  });

  it('defaults to level 1 for a ladder without a state', () => {
    const plan = buildSession(patient([], {}), content, 0);
    for (const drill of plan.drills) expect(drill.level, drill.ladder).toBe(1);
  });

  it('includes a non-big-three deficit, e.g. balance, at a realistic level', () => {
    const plan = buildSession(patient(['balance'], allAt(2)), content, 3);
    expect(plan.drills.map((d) => d.ladder)).toContain('balance');
    expect(plan.drills[3]?.ladder).toBe('balance');
  });
});

describe('minimalSession', () => {
  it('is the big three at the state’s levels, minimal, about five minutes', () => {
    const state = patient(['glutes', 'balance'], { deep_core: 3, extensors: 2, lateral_core: 4, glutes: 1 });
    const plan = minimalSession(state);
    expect(plan.minimal).toBe(true);
    expect(plan.drills).toEqual([
      { ladder: 'deep_core', level: 3 },
      { ladder: 'extensors', level: 2 },
      { ladder: 'lateral_core', level: 4 },
    ]);
    expect(sessionMinutes(content, plan)).toBe(MINIMAL_SESSION_MINUTES);
    expect(MINIMAL_SESSION_MINUTES).toBe(5);
  });

  it('is the big three whatever the deficits and levels', () => {
    fc.assert(
      fc.property(deficitsArb, levelsArb, (deficits, levels) => {
        const plan = minimalSession(patient(deficits, levels));
        expect(plan.minimal).toBe(true);
        expect(plan.drills.map((d) => d.ladder).sort()).toEqual(['deep_core', 'extensors', 'lateral_core']);
        for (const drill of plan.drills) expect(drill.level).toBe(levels[drill.ladder]);
      }),
    );
  });
});
