import { describe, expect, it } from 'vitest';
import type { LadderId } from '../../src/content/schema.ts';
import type { DayRecord, LadderState } from '../../src/engine/state.ts';
import { type DecisionInput, decide } from '../../src/progression/decide.ts';

const SESSION = {
  drills: [
    { ladder: 'deep_core' as LadderId, level: 2 },
    { ladder: 'extensors' as LadderId, level: 2 },
  ],
  minimal: false,
};
const good = (
  date: string,
  pain: number,
  difficulty: DayRecord['difficulty'] = 'about_right',
): DayRecord => ({
  date,
  session: SESSION,
  outcome: 'done',
  pain,
  difficulty,
  painDuring: 'none',
});
const levels = (changedOn: string | null = null): Partial<Record<LadderId, LadderState>> => ({
  deep_core: { level: 2, changedOn, locked: false },
  extensors: { level: 2, changedOn, locked: false },
});
const input = (days: DayRecord[], extra: Partial<DecisionInput> = {}): DecisionInput => ({
  today: days.at(-1)?.date ?? '2026-03-10',
  days,
  levels: levels(),
  baselinePain: 4,
  riskGroup: 'low',
  maxLevel: () => 4,
  ...extra,
});

describe('decide', () => {
  it('calls pain two above baseline a setback and regresses what was trained', () => {
    const d = decide(input([good('2026-03-10', 6)]));
    expect(d.kind).toBe('setback');
    expect(d.reason).toEqual({ key: 'reason.setback_baseline', params: { pain: 6, diff: 2, baseline: 4 } });
    expect(d.changes).toEqual([
      { ladder: 'deep_core', from: 2, to: 1 },
      { ladder: 'extensors', from: 2, to: 1 },
    ]);
  });

  it('calls pain one above baseline a hold', () => {
    expect(decide(input([good('2026-03-10', 5)])).kind).toBe('hold');
  });

  it('calls pain 7 a setback whatever the baseline, and severe pain during drills too', () => {
    expect(decide(input([good('2026-03-10', 7)], { baselinePain: 7 })).reason.key).toBe(
      'reason.setback_high',
    );
    const severe = { ...good('2026-03-10', 3), painDuring: 'severe' as const };
    expect(decide(input([severe])).reason.key).toBe('reason.setback_severe');
  });

  it('sees the 24-hour response: pain up two from the day after a session', () => {
    const d = decide(input([good('2026-03-09', 2), { date: '2026-03-10', pain: 4 }], { baselinePain: 3 }));
    expect(d.kind).toBe('setback');
    expect(d.reason).toEqual({ key: 'reason.setback_rise', params: { pain: 4, rise: 2, yesterday: 2 } });
    // Nothing was trained today; yesterday's session is what the rise answers to.
    expect(d.changes.map((c) => c.ladder)).toEqual(['deep_core', 'extensors']);
  });

  it('never goes below level 1 and says so', () => {
    const d = decide(
      input([good('2026-03-10', 8)], { levels: { deep_core: { level: 1, changedOn: null, locked: false } } }),
    );
    expect(d.changes.find((c) => c.ladder === 'deep_core')).toBeUndefined();
    expect(d.held).toContainEqual({ key: 'held.bottom', params: { ladder: 'deep_core' } });
    expect(d.alerts).toContainEqual({
      alert: 'pain_high',
      reason: { key: 'alert.pain_high', params: { pain: 8 } },
    });
  });

  it('holds a ladder that changed less than three days ago', () => {
    const d = decide(input([good('2026-03-10', 7)], { levels: levels('2026-03-08') }));
    expect(d.changes).toEqual([]);
    expect(d.held[0]).toEqual({ key: 'held.recent', params: { ladder: 'deep_core', days: 2, level: 2 } });
  });

  it('alerts after the third setback in seven days', () => {
    const days: DayRecord[] = [
      { ...good('2026-03-04', 7), decision: 'setback' },
      { ...good('2026-03-07', 7), decision: 'setback' },
      good('2026-03-10', 7),
    ];
    expect(decide(input(days)).alerts.map((a) => a.alert)).toContain('setbacks');
    const spread = [{ ...good('2026-03-02', 7), decision: 'setback' as const }, ...days.slice(1)];
    expect(decide(input(spread)).alerts.map((a) => a.alert)).not.toContain('setbacks');
  });

  it('progresses after three good sessions rated too easy, with a trend that is not worse', () => {
    const days = [
      good('2026-03-08', 3, 'too_easy'),
      good('2026-03-09', 3, 'too_easy'),
      good('2026-03-10', 3, 'too_easy'),
    ];
    const d = decide(input(days));
    expect(d.kind).toBe('breakthrough');
    expect(d.changes).toEqual([
      { ladder: 'deep_core', from: 2, to: 3 },
      { ladder: 'extensors', from: 2, to: 3 },
    ]);
  });

  it('needs five good sessions for the high-risk group', () => {
    const three = [
      good('2026-03-08', 3, 'too_easy'),
      good('2026-03-09', 3, 'too_easy'),
      good('2026-03-10', 3, 'too_easy'),
    ];
    expect(decide(input(three, { riskGroup: 'high' })).kind).toBe('hold');
    const five = [good('2026-03-06', 3, 'too_easy'), good('2026-03-07', 3, 'too_easy'), ...three];
    expect(decide(input(five, { riskGroup: 'high' })).kind).toBe('breakthrough');
  });

  it('does not progress when the three-day average pain rose', () => {
    const days = [
      good('2026-03-05', 1),
      good('2026-03-06', 1),
      good('2026-03-07', 1),
      good('2026-03-08', 3, 'too_easy'),
      good('2026-03-09', 3, 'too_easy'),
      good('2026-03-10', 3, 'too_easy'),
    ];
    expect(decide(input(days)).kind).toBe('hold');
  });

  it('progresses ladders about right for five sessions, but not before', () => {
    const four = ['06', '07', '08', '09'].map((d) => good(`2026-03-${d}`, 3));
    expect(decide(input(four)).changes).toEqual([]);
    const five = ['06', '07', '08', '09', '10'].map((d) => good(`2026-03-${d}`, 3));
    expect(decide(input(five)).changes.map((c) => c.ladder)).toEqual(['deep_core', 'extensors']);
  });

  it('celebrates pain 30 % or more below baseline on a breakthrough', () => {
    const days = [
      good('2026-03-08', 3, 'too_easy'),
      good('2026-03-09', 3, 'too_easy'),
      good('2026-03-10', 2, 'too_easy'),
    ];
    expect(decide(input(days, { baselinePain: 5 })).celebrate).toEqual({
      key: 'celebrate',
      params: { pain: 2, baseline: 5, percent: 60 },
    });
    expect(decide(input(days, { baselinePain: 2 })).celebrate).toBeNull();
  });

  it('leaves a coach-locked ladder alone', () => {
    const locked = { ...levels(), deep_core: { level: 2, changedOn: null, locked: true } };
    const d = decide(input([good('2026-03-10', 8)], { levels: locked }));
    expect(d.changes.map((c) => c.ladder)).toEqual(['extensors']);
    expect(d.held).toContainEqual({ key: 'held.locked', params: { ladder: 'deep_core', level: 2 } });
  });
});
