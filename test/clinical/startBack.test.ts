import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bothersomenessScore, startBackGroup } from '../../src/clinical/startBack.ts';

/** DESIGN §3, written out directly: total 0–9, subscale items 5–9; low ≤ 3, high subscale ≥ 4, else medium. */
function designGroup(items: readonly number[]): { total: number; subscale: number; group: string } {
  let total = 0;
  let subscale = 0;
  items.forEach((score, i) => {
    total += score;
    if (i + 1 >= 5) subscale += score;
  });
  const group = total <= 3 ? 'low' : subscale >= 4 ? 'high' : 'medium';
  return { total, subscale, group };
}

const pattern = (bits: number) => Array.from({ length: 9 }, (_, i) => (bits >> i) & 1);

describe('startBackGroup', () => {
  it('is low for a total of 3 or less, whatever the subscale', () => {
    expect(startBackGroup([0, 0, 0, 0, 0, 0, 0, 0, 0])).toEqual({ total: 0, subscale: 0, group: 'low' });
    expect(startBackGroup([0, 0, 0, 0, 0, 0, 1, 1, 1])).toEqual({ total: 3, subscale: 3, group: 'low' });
    expect(startBackGroup([1, 1, 1, 0, 0, 0, 0, 0, 0])).toEqual({ total: 3, subscale: 0, group: 'low' });
  });

  it('is medium for a total above 3 with a subscale below 4', () => {
    expect(startBackGroup([1, 1, 1, 1, 0, 0, 0, 0, 0])).toEqual({ total: 4, subscale: 0, group: 'medium' });
    expect(startBackGroup([1, 0, 0, 0, 1, 1, 1, 0, 0])).toEqual({ total: 4, subscale: 3, group: 'medium' });
    expect(startBackGroup([1, 1, 1, 1, 1, 1, 1, 0, 0])).toEqual({ total: 7, subscale: 3, group: 'medium' });
  });

  it('is high when items 5–9 add up to 4 or more', () => {
    expect(startBackGroup([0, 0, 0, 0, 1, 1, 1, 1, 0])).toEqual({ total: 4, subscale: 4, group: 'high' });
    expect(startBackGroup([0, 0, 0, 0, 0, 1, 1, 1, 1])).toEqual({ total: 4, subscale: 4, group: 'high' });
    expect(startBackGroup([1, 1, 1, 1, 1, 1, 1, 1, 1])).toEqual({ total: 9, subscale: 5, group: 'high' });
  });

  it('counts item 4 in the total but not in the subscale (items 5–9 only)', () => {
    expect(startBackGroup([0, 0, 0, 1, 0, 1, 1, 1, 0]).subscale).toBe(3);
    expect(startBackGroup([0, 0, 0, 1, 0, 1, 1, 1, 0]).group).toBe('medium');
  });

  it('agrees with the DESIGN rule on all 512 answer patterns', () => {
    for (let bits = 0; bits < 512; bits++) {
      const items = pattern(bits);
      expect(startBackGroup(items), items.join('')).toEqual(designGroup(items));
    }
  });

  it('agrees with the DESIGN rule for any pattern (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 9, maxLength: 9 }), (items) => {
        expect(startBackGroup(items)).toEqual(designGroup(items));
      }),
    );
  });

  it('rejects anything but nine items', () => {
    expect(() => startBackGroup([0, 0, 0, 0, 0, 0, 0, 0])).toThrow();
    expect(() => startBackGroup([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).toThrow();
    expect(() => startBackGroup([])).toThrow();
  });
});

describe('bothersomenessScore', () => {
  it.each([
    [0, 0],
    [1, 0],
    [2, 0],
    [3, 1],
    [4, 1],
  ])('option %i (of 0–4) scores %i', (option, score) => {
    expect(bothersomenessScore(option)).toBe(score);
  });

  it('makes "very much" tip a borderline patient into the high group', () => {
    const items = [0, 0, 0, 0, 1, 1, 1, 0, bothersomenessScore(3)];
    expect(startBackGroup(items).group).toBe('high');
    const moderate = [0, 0, 0, 0, 1, 1, 1, 0, bothersomenessScore(2)];
    expect(startBackGroup(moderate).group).toBe('low');
  });
});
