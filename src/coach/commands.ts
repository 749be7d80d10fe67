import { LADDER_IDS, type LadderId } from '../content/schema.ts';
import type { CoachAction } from '../engine/events.ts';

/** What a coach typed after `/coach` (Telegram) or `coach` (Slack), understood. */
export type DeskCommand =
  | { kind: 'help' }
  | { kind: 'code' }
  | { kind: 'patients' }
  | { kind: 'export' }
  | { kind: 'week'; label: number }
  | { kind: 'action'; label: number; action: CoachAction }
  | { kind: 'invalid' };

/** `/coach …` or `coach …` at the start of a message: the rest, or undefined when it isn't one. */
export function deskText(text: string): string | undefined {
  const match = /^\/?coach(?:@\S+)?(?:\s+([\s\S]*))?$/i.exec(text.trim());
  return match ? (match[1] ?? '').trim() : undefined;
}

const isLadder = (v: string): v is LadderId => (LADDER_IDS as readonly string[]).includes(v);

/** `3` or `#3`: a patient's number on the coach's roster. */
function labelOf(word: string | undefined): number | undefined {
  const m = /^#?([1-9]\d{0,5})$/.exec(word ?? '');
  return m ? Number(m[1]) : undefined;
}

export function parseDeskCommand(rest: string): DeskCommand {
  const words = rest.split(/\s+/).filter(Boolean);
  const [verb = 'help', target, ...more] = words;
  const label = labelOf(target);
  switch (verb.toLowerCase()) {
    case 'help':
      return { kind: 'help' };
    case 'code':
      return { kind: 'code' };
    case 'patients':
    case 'roster':
      return { kind: 'patients' };
    case 'export':
      return { kind: 'export' };
    case 'week':
      return label ? { kind: 'week', label } : { kind: 'invalid' };
    case 'clear':
    case 'pause':
    case 'resume':
      return label
        ? { kind: 'action', label, action: { action: verb.toLowerCase() as 'clear' } }
        : { kind: 'invalid' };
    case 'note': {
      const text = rest.trim().replace(/^\S+\s+\S+\s*/, '');
      if (!label || text === '' || text.length > 2000) return { kind: 'invalid' };
      return { kind: 'action', label, action: { action: 'note', text } };
    }
    case 'level': {
      const [ladder = '', level = '', lock] = more;
      const n = Number(level);
      if (!label || !isLadder(ladder) || !/^[1-9]\d?$/.test(level) || (lock && lock !== 'lock'))
        return { kind: 'invalid' };
      return {
        kind: 'action',
        label,
        action: { action: 'set_level', ladder, level: n, lock: lock === 'lock' },
      };
    }
    case 'unlock': {
      const [ladder = ''] = more;
      if (!label || !isLadder(ladder)) return { kind: 'invalid' };
      return { kind: 'action', label, action: { action: 'unlock', ladder } };
    }
    default:
      return { kind: 'invalid' };
  }
}
