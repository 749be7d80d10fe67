import { describe, expect, it } from 'vitest';
import { type CpuShare, cpuParts, cpuPerUnit } from '../../bench/support.ts';

/** Two seconds of a phase that served 1,000 units, with these shares of a core. */
function share(parts: { node: number; others: number; redis: number; main?: number }): CpuShare {
  return {
    seconds: 2,
    node: parts.node,
    others: parts.others,
    redis: parts.redis,
    commands: 0,
    byName: new Map(),
    elu: 0,
    main: parts.main === undefined ? undefined : { running: parts.main, waiting: 0 },
  };
}

describe('cpuParts', () => {
  it('splits a unit’s CPU between the main thread, the other threads, the fake and redis', () => {
    // This process 1.2 cores (main 0.7), the fake 0.3, redis 0.1: over 2 s and 1,000 units.
    const c = share({ node: 1.5, others: 0.3, redis: 0.1, main: 0.7 });
    const parts = cpuParts(c, 1000);
    expect(parts.main).toBeCloseTo(1400);
    expect(parts.otherThreads).toBeCloseTo(1000);
    expect(parts.others).toBeCloseTo(600);
    expect(parts.redis).toBeCloseTo(200);
    // The parts add up to the whole.
    const whole = (parts.main ?? 0) + parts.otherThreads + parts.others + parts.redis;
    expect(whole).toBeCloseTo(cpuPerUnit(c, 1000));
  });

  it('gives the whole process as one part where the main thread cannot be told apart', () => {
    const parts = cpuParts(share({ node: 1.5, others: 0.3, redis: 0.1 }), 1000);
    expect(parts.main).toBeUndefined();
    expect(parts.otherThreads).toBeCloseTo(2400);
  });
});
