import { describe, expect, it } from 'vitest';
import { LEVEL_CHANGES_KEPT_DAYS } from '../../src/engine/step.ts';
import { addDays, localDate } from '../../src/time/local.ts';
import { realContent } from '../support/content.ts';
import { SimPatient } from '../support/patient.ts';

describe('what the state keeps of its history', () => {
  it('drops past days’ push times and level changes older than five weeks, which the audit log keeps', () => {
    const sim = new SimPatient(realContent()).onboard();
    // Too easy for weeks (breakthroughs, levels up), then a flare-up (a setback, levels down).
    for (let d = 0; d < 59; d++)
      sim.day({ outcome: 'done', pain: 2, difficulty: 'too_easy', painDuring: 'none' });
    sim.day({ outcome: 'done', pain: 7, difficulty: 'about_right', painDuring: 'moderate' });
    const state = sim.state;
    if (!state) throw new Error('no state');
    const today = localDate(sim.now, sim.timezone);

    expect(state.days).toHaveLength(60);
    expect(state.days.filter((d) => d.date < today && (d.pushedAt ?? d.remindedAt) !== undefined)).toEqual(
      [],
    );
    expect(state.days.at(-1)?.pushedAt).toBeTypeOf('number');
    const since = addDays(today, -LEVEL_CHANGES_KEPT_DAYS);
    expect(state.levelChanges.length, 'level changes within five weeks').toBeGreaterThan(0);
    expect(state.levelChanges.every((c) => c.date >= since)).toBe(true);

    const audited = sim.effects.flatMap((e) =>
      e.type === 'audit' && e.entry.kind === 'decision'
        ? ((e.entry.detail.changes as unknown[]) ?? []).map(() => e.entry.detail.date as string)
        : [],
    );
    expect(audited.filter((date) => date < since).length, 'audited earlier').toBeGreaterThan(0);
    expect(audited.filter((date) => date >= since)).toHaveLength(
      state.levelChanges.filter((c) => c.by === 'progression').length,
    );
  });
});

describe('audit entries', () => {
  it('are timed to the second', () => {
    const sim = new SimPatient(realContent());
    sim.now += 1234;
    sim.command('start');
    sim.answer('consent', 'yes');
    const entries = sim.effects.flatMap((e) => (e.type === 'audit' ? [e.entry] : []));
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.at === sim.now - 234)).toBe(true);
  });
});
