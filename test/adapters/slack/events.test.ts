import { describe, expect, it } from 'vitest';
import {
  decodeButtonValue,
  dmEvent,
  localeOf,
  parseSlashCommand,
  patientIdOf,
  slackUserOf,
  tapEvent,
} from '../../../adapters/slack/events.ts';
import { inboundEventSchema } from '../../../src/engine/events.ts';

describe('Slack events', () => {
  it('names a patient by workspace and user, and back', () => {
    expect(patientIdOf('T1', 'U9')).toBe('sl:T1:U9');
    expect(slackUserOf('sl:T1:U9')).toEqual({ teamId: 'T1', userId: 'U9' });
    expect(slackUserOf('tg:5')).toBeUndefined();
    expect(slackUserOf('sl:T1')).toBeUndefined();
  });

  it('reads a DM that is a command word as that command, anything else as text', () => {
    expect(dmEvent('Ev1', 'T1', 'U1', ' Today ', { localeHint: 'de', tzHint: 'Europe/Berlin' })).toEqual({
      id: 'sl|Ev1',
      patientId: 'sl:T1:U1',
      localeHint: 'de',
      tzHint: 'Europe/Berlin',
      kind: 'command',
      command: 'today',
      args: '',
    });
    expect(dmEvent('Ev2', 'T1', 'U1', '/help')).toMatchObject({ kind: 'command', command: 'help' });
    expect(dmEvent('Ev5', 'T1', 'U1', 'start cabc23')).toMatchObject({
      kind: 'command',
      command: 'start',
      args: 'cabc23',
    });
    expect(dmEvent('Ev6', 'T1', 'U1', 'start over please')).toMatchObject({ kind: 'text' });
    expect(dmEvent('Ev3', 'T1', 'U1', 'today was rough')).toMatchObject({
      kind: 'text',
      text: 'today was rough',
    });
    expect(inboundEventSchema.safeParse(dmEvent('Ev4', 'T1', 'U1', 'x'.repeat(9000))).success).toBe(true);
  });

  it('decodes only button values of the form seq:value', () => {
    expect(decodeButtonValue('3:20_39')).toEqual({ seq: 3, value: '20_39' });
    for (const bad of ['03:x', '3:', ':x', '3:a\u0000', `3:${'x'.repeat(49)}`, 7, undefined, '{"seq":3}'])
      expect(decodeButtonValue(bad)).toBeUndefined();
    expect(tapEvent('T1', 'U1', '170.1', '170.2', '4:done')).toEqual({
      id: 'sl|a|170.1|170.2',
      patientId: 'sl:T1:U1',
      kind: 'choice',
      seq: 4,
      value: 'done',
    });
    expect(tapEvent('T1', 'U1', '170.1', '170.2', 'forged')).toBeUndefined();
  });

  it('parses the slash command', () => {
    expect(parseSlashCommand('')).toEqual({ kind: 'engine', command: 'help', args: '' });
    expect(parseSlashCommand('checkin')).toEqual({ kind: 'engine', command: 'checkin', args: '' });
    expect(parseSlashCommand('join Backstreet')).toEqual({ kind: 'join', team: 'backstreet' });
    expect(parseSlashCommand('join two words')).toMatchObject({ kind: 'unknown' });
    expect(parseSlashCommand('leave')).toEqual({ kind: 'leave' });
    expect(parseSlashCommand('team create ops-team')).toEqual({ kind: 'team_create', team: 'ops-team' });
    expect(parseSlashCommand('dance')).toMatchObject({ kind: 'unknown' });
  });

  it('maps Slack locales to the content’s languages', () => {
    expect(localeOf('de-DE')).toBe('de');
    expect(localeOf('en-US')).toBe('en');
    expect(localeOf('ja-JP')).toBeUndefined();
  });
});
