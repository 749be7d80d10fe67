import { describe, expect, it } from 'vitest';
import { deskText, parseDeskCommand } from '../../src/coach/commands.ts';

describe('coach desk commands', () => {
  it('recognises the desk prefix on both platforms', () => {
    expect(deskText('/coach week 3')).toBe('week 3');
    expect(deskText('/coach@backcoach_bot patients')).toBe('patients');
    expect(deskText('coach')).toBe('');
    expect(deskText('coaching is great')).toBeUndefined();
    expect(deskText('/today')).toBeUndefined();
  });

  it('parses every command, by roster number', () => {
    expect(parseDeskCommand('')).toEqual({ kind: 'help' });
    expect(parseDeskCommand('code')).toEqual({ kind: 'code' });
    expect(parseDeskCommand('patients')).toEqual({ kind: 'patients' });
    expect(parseDeskCommand('export')).toEqual({ kind: 'export' });
    expect(parseDeskCommand('week #3')).toEqual({ kind: 'week', label: 3 });
    expect(parseDeskCommand('clear 2')).toEqual({ kind: 'action', label: 2, action: { action: 'clear' } });
    expect(parseDeskCommand('pause 2')).toEqual({ kind: 'action', label: 2, action: { action: 'pause' } });
    expect(parseDeskCommand('note 4 Keep the knees soft on the bridge.')).toEqual({
      kind: 'action',
      label: 4,
      action: { action: 'note', text: 'Keep the knees soft on the bridge.' },
    });
    expect(parseDeskCommand('level 1 deep_core 2 lock')).toEqual({
      kind: 'action',
      label: 1,
      action: { action: 'set_level', ladder: 'deep_core', level: 2, lock: true },
    });
    expect(parseDeskCommand('unlock 1 deep_core')).toEqual({
      kind: 'action',
      label: 1,
      action: { action: 'unlock', ladder: 'deep_core' },
    });
  });

  it('refuses what it cannot read', () => {
    const bad = [
      'week',
      'week bob',
      'clear 0',
      'note 3',
      'level 1 toes 2',
      'level 1 deep_core 0',
      'level 1 deep_core 2 please',
      'dance',
    ];
    for (const text of bad) expect(parseDeskCommand(text)).toEqual({ kind: 'invalid' });
  });
});
