import { isValidDate, isValidZone, resolveZone } from '../time/local.ts';
import type { Choice } from './events.ts';
import { matchLabel, parseScore, parseWallTime, parseWindow, parseYesNo } from './parse.ts';
import { AGE_BANDS, type Ask, DIFFICULTIES, PAIN_DURING } from './state.ts';
import type { Turn } from './turn.ts';

export interface Prompt {
  text: string;
  choices: Choice[][];
}

const COMMON_ZONES = ['Europe/Berlin', 'Europe/London', 'America/New_York', 'America/Los_Angeles', 'UTC'];
export const DRILL_TIMES = ['07:00', '08:00', '12:00', '18:00'];
export const REMINDER_TIMES = ['19:00', '20:00', '21:00'];
export const QUIET_WINDOWS = ['22:00-07:00', '21:00-08:00', '23:00-06:00'];
export const NO_QUIET = 'none';

function yesNo(turn: Turn): Choice[][] {
  return [
    [
      { value: 'yes', label: turn.t('choice.yes') },
      { value: 'no', label: turn.t('choice.no') },
    ],
  ];
}

function painScale(): Choice[][] {
  const button = (n: number): Choice => ({ value: String(n), label: String(n) });
  return [[0, 1, 2, 3, 4, 5].map(button), [6, 7, 8, 9, 10].map(button)];
}

function options(turn: Turn, prefix: string, values: readonly string[]): Choice[][] {
  return [values.map((value) => ({ value, label: turn.t(`${prefix}.${value}`) }))];
}

function buckets(turn: Turn, list: readonly { label: { en: string; de: string } }[]): Choice[][] {
  return [list.map((b, i) => ({ value: String(i), label: b.label[turn.state.locale] }))];
}

/** The question's text and buttons. Pure: the same ask gives the same prompt. */
export function prompt(turn: Turn, ask: Ask): Prompt {
  const { screening } = turn.content;
  const locale = turn.state.locale;
  const ms = screening.movementScreen;
  switch (ask.q) {
    case 'consent':
      return {
        text: turn.t('q.consent'),
        choices: [
          [
            { value: 'yes', label: turn.t('choice.consent_yes') },
            { value: 'no', label: turn.t('choice.consent_no') },
          ],
        ],
      };
    case 'emergency':
    case 'recheck': {
      const item = screening.redFlags.emergency[ask.i];
      const intro =
        ask.i === 0 ? `${turn.t(ask.q === 'recheck' ? 'q.recheck_intro' : 'q.emergency_intro')}\n\n` : '';
      return { text: `${intro}${item?.text[locale] ?? ''}`, choices: yesNo(turn) };
    }
    case 'age':
      return {
        text: turn.t('q.age'),
        choices: [AGE_BANDS.slice(0, 3), AGE_BANDS.slice(3)].map((row) =>
          row.map((value) => ({ value, label: turn.t(`age.${value}`) })),
        ),
      };
    case 'clinician': {
      const item = screening.redFlags.clinician[ask.i];
      const intro = ask.i === 0 ? `${turn.t('q.clinician_intro')}\n\n` : '';
      return { text: `${intro}${item?.text[locale] ?? ''}`, choices: yesNo(turn) };
    }
    case 'baseline':
      return { text: turn.t('q.baseline'), choices: painScale() };
    case 'startback': {
      const item = screening.startBack.items[ask.i];
      const intro =
        ask.i === 0 ? `${turn.t('q.startback_intro')}\n${screening.startBack.attribution[locale]}\n\n` : '';
      const text = `${intro}${turn.t('q.startback_counter', { n: ask.i + 1 })} ${item?.text[locale] ?? ''}`;
      if (ask.i === 8) {
        const labels = screening.startBack.bothersomeness.map((l, i) => ({
          value: String(i),
          label: l[locale],
        }));
        return { text, choices: [labels.slice(0, 3), labels.slice(3)] };
      }
      return {
        text,
        choices: [
          [
            { value: '1', label: turn.t('choice.agree') },
            { value: '0', label: turn.t('choice.disagree') },
          ],
        ],
      };
    }
    case 'side_left':
      return {
        text: `${turn.t('q.screen_intro')}\n\n${ms.sideBridge.left[locale]}`,
        choices: buckets(turn, ms.sideBridge.buckets),
      };
    case 'side_right':
      return { text: ms.sideBridge.right[locale], choices: buckets(turn, ms.sideBridge.buckets) };
    case 'stance': {
      const all = buckets(turn, ms.singleLegStance.buckets)[0] ?? [];
      return { text: ms.singleLegStance.text[locale], choices: [all.slice(0, 3), all.slice(3)] };
    }
    case 'sl_bridge':
      return { text: ms.singleLegBridge[locale], choices: yesNo(turn) };
    case 'knee_chest':
      return { text: ms.kneeToChest[locale], choices: yesNo(turn) };
    case 'knee_fallout':
      return { text: ms.kneeFallout[locale], choices: yesNo(turn) };
    case 'drill_time':
      return {
        text: turn.t('q.drill_time', { current: turn.state.schedule.drillTime }),
        choices: [DRILL_TIMES.map((v) => ({ value: v, label: v }))],
      };
    case 'timezone': {
      const hint = turn.state.schedule.timezone;
      const zones = [...new Set([hint, ...COMMON_ZONES])].slice(0, 6);
      return {
        text: turn.t('q.timezone', { current: hint }),
        choices: [zones.slice(0, 3), zones.slice(3)]
          .filter((r) => r.length > 0)
          .map((r) => r.map((z) => ({ value: z, label: z }))),
      };
    }
    case 'quiet_hours':
      return {
        text: turn.t('q.quiet_hours'),
        choices: [
          [
            ...QUIET_WINDOWS.map((w) => ({ value: w, label: w.replace('-', '–') })),
            { value: NO_QUIET, label: turn.t('choice.no_quiet') },
          ],
        ],
      };
    case 'outcome':
      return {
        text: turn.t('q.outcome'),
        choices: [
          options(turn, 'outcome', ['done', 'partly'])[0] ?? [],
          options(turn, 'outcome', ['skipped', 'snooze'])[0] ?? [],
        ],
      };
    case 'pain':
      return { text: turn.t('q.pain'), choices: painScale() };
    case 'difficulty':
      return { text: turn.t('q.difficulty'), choices: options(turn, 'difficulty', DIFFICULTIES) };
    case 'pain_during':
      return {
        text: turn.t('q.pain_during'),
        choices: [PAIN_DURING.map((v) => ({ value: v, label: turn.t(`pain_during.${v}`) }))],
      };
    case 'settings':
      return {
        text: turn.t('q.settings', settingsParams(turn)),
        choices: [
          options(turn, 'settings', ['drill_time', 'reminder_time', 'timezone'])[0] ?? [],
          options(turn, 'settings', ['quiet_hours', 'language', 'done'])[0] ?? [],
        ],
      };
    case 'reminder_time':
      return {
        text: turn.t('q.reminder_time', { current: turn.state.schedule.reminderTime }),
        choices: [REMINDER_TIMES.map((v) => ({ value: v, label: v }))],
      };
    case 'language':
      return {
        text: turn.t('q.language'),
        choices: [
          [
            { value: 'en', label: 'English' },
            { value: 'de', label: 'Deutsch' },
          ],
        ],
      };
    case 'vacation':
      return {
        text: turn.t('q.vacation'),
        choices: [
          [
            { value: '7', label: turn.t('vacation.week') },
            { value: '14', label: turn.t('vacation.two_weeks') },
            { value: 'cancel', label: turn.t('choice.cancel') },
          ],
        ],
      };
    case 'delete_confirm':
      return {
        text: turn.t('q.delete_confirm'),
        choices: [
          [
            { value: 'yes', label: turn.t('choice.delete_yes') },
            { value: 'no', label: turn.t('choice.cancel') },
          ],
        ],
      };
  }
}

export function settingsParams(turn: Turn): Record<string, string> {
  const s = turn.state.schedule;
  return {
    drillTime: s.drillTime,
    reminderTime: s.reminderTime,
    timezone: s.timezone,
    quiet: s.quietHours ? `${s.quietHours.start}–${s.quietHours.end}` : turn.t('choice.no_quiet'),
    language: turn.state.locale === 'de' ? 'Deutsch' : 'English',
  };
}

/** Questions that take a value no button offers (a typed time, zone or date). */
function freeValue(ask: Ask, text: string): string | undefined {
  switch (ask.q) {
    case 'baseline':
    case 'pain':
      return parseScore(text)?.toString();
    case 'drill_time':
    case 'reminder_time':
      return parseWallTime(text);
    case 'timezone':
      return resolveZone(text);
    case 'quiet_hours': {
      const w = parseWindow(text);
      return w ? `${w.start}-${w.end}` : undefined;
    }
    case 'vacation': {
      const date = text.trim();
      if (isValidDate(date)) return date;
      const days = text.match(/^\s*(\d{1,3})\s*(d|days?|tage?n?)?\s*$/i);
      return days ? days[1] : undefined;
    }
    default:
      return undefined;
  }
}

/** What a typed answer means for the pending question, or undefined when it is not understood. */
export function interpret(turn: Turn, ask: Ask, text: string): string | undefined {
  const { choices } = prompt(turn, ask);
  const flat = choices.flat();
  const labelled = matchLabel(text, flat);
  if (labelled !== undefined) return labelled;
  const free = freeValue(ask, text);
  if (free !== undefined) return free;
  const yn = parseYesNo(text);
  if (yn && flat.some((c) => c.value === yn)) return yn;
  return undefined;
}

/** Whether a value (from a button or typed) is a valid answer to the question. */
export function accepts(turn: Turn, ask: Ask, value: string): boolean {
  if (
    prompt(turn, ask)
      .choices.flat()
      .some((c) => c.value === value)
  )
    return true;
  switch (ask.q) {
    case 'drill_time':
    case 'reminder_time':
      return parseWallTime(value) === value;
    case 'timezone':
      return isValidZone(value) && value.length <= 48;
    case 'quiet_hours':
      return parseWindow(value) !== undefined;
    case 'vacation':
      return isValidDate(value) || /^\d{1,3}$/.test(value);
    default:
      return false;
  }
}
