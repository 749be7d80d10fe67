import { describe, expect, it } from 'vitest';
import { homeSummary } from '../../src/engine/home.ts';
import { realContent } from '../support/content.ts';
import { SimPatient } from '../support/patient.ts';

const content = realContent();

describe('homeSummary', () => {
  it('invites someone new to start, in the workspace language', () => {
    const home = homeSummary(null, Date.parse('2026-03-02T08:00:00Z'), content, 'de');
    expect(home.onboarded).toBe(false);
    expect(home.labels.start).toBe('Loslegen');
    expect(home.progress).toBeUndefined();
  });

  it('shows today’s open session, the week and the settings, with pause offered', () => {
    const p = new SimPatient(content).onboard();
    p.advanceTo();
    p.timer('drills_due');
    const home = homeSummary(p.state, p.now, content, 'en');
    expect(home.onboarded).toBe(true);
    expect(home.todayOpen).toBe(true);
    expect(home.today).toContain('Today’s session');
    expect(home.progress).toContain('level');
    expect(home.settings).toContain('drills at 08:00');
    expect([home.canPause, home.canResume]).toEqual([true, false]);
  });

  it('offers resume to a patient who paused, but not to one a coach paused', () => {
    const p = new SimPatient(content).onboard();
    p.command('pause');
    expect(homeSummary(p.state, p.now, content, 'en')).toMatchObject({ canPause: false, canResume: true });
    const coachPaused = { ...(p.state as NonNullable<typeof p.state>), pausedBy: 'coach' as const };
    expect(homeSummary(coachPaused, p.now, content, 'en').canResume).toBe(false);
    expect(homeSummary(coachPaused, p.now, content, 'en').status).toMatch(/paused/);
  });
});
