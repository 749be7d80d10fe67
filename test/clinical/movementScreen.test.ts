import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BIG_THREE, deficitsFrom, startingLevel } from '../../src/clinical/movementScreen.ts';
import { LADDER_IDS, type LadderId } from '../../src/content/schema.ts';
import { AGE_BANDS, type AgeBand, RISK_GROUPS } from '../../src/engine/state.ts';

type Answers = Parameters<typeof deficitsFrom>[0];

/** Someone who screens well on everything: long, even side bridges, long stance, no faults. */
const WELL: Answers = {
  ageBand: '20_39',
  sideLeft: 75,
  sideRight: 75,
  stanceSeconds: 60,
  slBridgeOk: true,
  kneeChestThighLifts: false,
  kneeFalloutRocks: false,
};

const deficits = (overrides: Partial<Answers>) => [...deficitsFrom({ ...WELL, ...overrides })].sort();

describe('deficitsFrom', () => {
  it('finds nothing for someone who screens well', () => {
    expect(deficitsFrom(WELL)).toEqual([]);
  });

  describe('side bridge symmetry (ratio outside 0.8–1.25 is lateral_core)', () => {
    it.each([
      [45, 75],
      [75, 45],
      [40, 60],
      [100, 79],
      [79, 100],
    ])('left %i s, right %i s is an asymmetry', (sideLeft, sideRight) => {
      expect(deficits({ sideLeft, sideRight })).toEqual(['lateral_core']);
    });

    it.each([
      [45, 45],
      [80, 100],
      [100, 80],
      [50, 40],
      [40, 50],
      [60, 70],
    ])('left %i s, right %i s is symmetric enough', (sideLeft, sideRight) => {
      expect(deficits({ sideLeft, sideRight })).toEqual([]);
    });

    it('treats one side at 0 s and the other held as an asymmetry', () => {
      expect(deficits({ sideLeft: 60, sideRight: 0 })).toContain('lateral_core');
      expect(deficits({ sideLeft: 0, sideRight: 60 })).toContain('lateral_core');
    });
  });

  it('low side-bridge endurance on either side gives extensors and lateral_core', () => {
    expect(deficits({ sideLeft: 20, sideRight: 20 })).toEqual(['extensors', 'lateral_core']);
    expect(deficits({ sideLeft: 5, sideRight: 5 })).toEqual(['extensors', 'lateral_core']);
    expect(deficits({ sideLeft: 0, sideRight: 0 })).toEqual(['extensors', 'lateral_core']);
    expect(deficits({ sideLeft: 45, sideRight: 20 })).toEqual(['extensors', 'lateral_core']);
  });

  describe('single-leg stance against the age norm (44 / 41 / 32 / 21 s)', () => {
    it.each([
      ['u20', 44],
      ['20_39', 44],
      ['40_50', 41],
      ['51_59', 41],
      ['60_69', 32],
      ['70p', 21],
    ] as const)('%s: balance below %i s, none at or above it', (ageBand, norm) => {
      expect(deficits({ ageBand, stanceSeconds: norm - 1 })).toEqual(['balance']);
      expect(deficits({ ageBand, stanceSeconds: norm })).toEqual([]);
      expect(deficits({ ageBand, stanceSeconds: norm + 1 })).toEqual([]);
    });

    it('judges the same stance time by age: 35 s is short at 30 but fine at 65', () => {
      expect(deficits({ ageBand: '20_39', stanceSeconds: 35 })).toEqual(['balance']);
      expect(deficits({ ageBand: '40_50', stanceSeconds: 35 })).toEqual(['balance']);
      expect(deficits({ ageBand: '60_69', stanceSeconds: 35 })).toEqual([]);
      expect(deficits({ ageBand: '70p', stanceSeconds: 25 })).toEqual([]);
      expect(deficits({ ageBand: '70p', stanceSeconds: 15 })).toEqual(['balance']);
    });
  });

  it('a single-leg bridge that is not ok gives glutes', () => {
    expect(deficits({ slBridgeOk: false })).toEqual(['glutes']);
  });

  it('a thigh that lifts in knee-to-chest gives hip_flexor_mobility', () => {
    expect(deficits({ kneeChestThighLifts: true })).toEqual(['hip_flexor_mobility']);
  });

  it('a pelvis that rocks in the knee fallout gives deep_core', () => {
    expect(deficits({ kneeFalloutRocks: true })).toEqual(['deep_core']);
  });

  it('collects every deficit at once, each ladder once', () => {
    const all = deficitsFrom({
      ageBand: '60_69',
      sideLeft: 5,
      sideRight: 20,
      stanceSeconds: 15,
      slBridgeOk: false,
      kneeChestThighLifts: true,
      kneeFalloutRocks: true,
    });
    expect([...all].sort()).toEqual(
      ['balance', 'deep_core', 'extensors', 'glutes', 'hip_flexor_mobility', 'lateral_core'].sort(),
    );
    expect(new Set(all).size).toBe(all.length);
  });

  it('never names flexor endurance or loading (the screen does not test them), and never repeats', () => {
    const seconds = fc.constantFrom(0, 5, 15, 20, 25, 35, 45, 60, 75);
    fc.assert(
      fc.property(
        fc.record({
          ageBand: fc.constantFrom(...AGE_BANDS),
          sideLeft: seconds,
          sideRight: seconds,
          stanceSeconds: seconds,
          slBridgeOk: fc.boolean(),
          kneeChestThighLifts: fc.boolean(),
          kneeFalloutRocks: fc.boolean(),
        }),
        (answers) => {
          const found = deficitsFrom(answers);
          expect(found).not.toContain('flexor_endurance');
          expect(found).not.toContain('loading');
          expect(new Set(found).size).toBe(found.length);
          expect(found.includes('glutes')).toBe(!answers.slBridgeOk);
          expect(found.includes('hip_flexor_mobility')).toBe(answers.kneeChestThighLifts);
          expect(found.includes('deep_core')).toBe(answers.kneeFalloutRocks);
          const norm: Record<AgeBand, number> = {
            u20: 44,
            '20_39': 44,
            '40_50': 41,
            '51_59': 41,
            '60_69': 32,
            '70p': 21,
          };
          expect(found.includes('balance')).toBe(answers.stanceSeconds < norm[answers.ageBand]);
        },
      ),
    );
  });
});

describe('startingLevel', () => {
  const SCREENED: LadderId[] = [
    'deep_core',
    'extensors',
    'lateral_core',
    'glutes',
    'hip_flexor_mobility',
    'balance',
  ];

  it('is 2 for a screened ladder without a deficit in the low-risk group', () => {
    for (const ladder of SCREENED) expect(startingLevel(ladder, [], 'low'), ladder).toBe(2);
  });

  it('is 1 for a ladder with a deficit', () => {
    for (const ladder of SCREENED) expect(startingLevel(ladder, [ladder], 'low'), ladder).toBe(1);
    expect(startingLevel('glutes', ['balance', 'glutes'], 'low')).toBe(1);
    expect(startingLevel('glutes', ['balance'], 'low')).toBe(2);
  });

  it('is 1 for the untested ladders (flexor endurance, loading)', () => {
    expect(startingLevel('flexor_endurance', [], 'low')).toBe(1);
    expect(startingLevel('loading', [], 'low')).toBe(1);
  });

  it('is 1 for everything in the medium and high risk groups', () => {
    for (const risk of ['medium', 'high'] as const) {
      for (const ladder of LADDER_IDS) expect(startingLevel(ladder, [], risk), `${ladder} ${risk}`).toBe(1);
    }
  });

  it('is always 1 or 2, and 2 only for low risk, screened, no deficit (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...LADDER_IDS),
        fc.subarray([...LADDER_IDS]),
        fc.constantFrom(...RISK_GROUPS),
        (ladder, found, risk) => {
          const expected = risk === 'low' && SCREENED.includes(ladder) && !found.includes(ladder) ? 2 : 1;
          expect(startingLevel(ladder, found, risk)).toBe(expected);
        },
      ),
    );
  });

  it('the big three are all screened ladders', () => {
    for (const ladder of BIG_THREE) expect(SCREENED).toContain(ladder);
  });
});
