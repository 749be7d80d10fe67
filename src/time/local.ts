import { DateTime, IANAZone } from 'luxon';

let lastDate = { now: Number.NaN, timezone: '', date: '' };

/** Local calendar date (YYYY-MM-DD) of an instant in an IANA zone. */
export function localDate(now: number, timezone: string): string {
  // One step asks for the same instant's date many times (each `today`): luxon once.
  if (lastDate.now === now && lastDate.timezone === timezone) return lastDate.date;
  const date = DateTime.fromMillis(now, { zone: timezone }).toISODate() ?? '1970-01-01';
  lastDate = { now, timezone, date };
  return date;
}

/** Minutes since local midnight. */
export function localMinutes(now: number, timezone: string): number {
  const t = DateTime.fromMillis(now, { zone: timezone });
  return t.hour * 60 + t.minute;
}

export function wallMinutes(wallTime: string): number {
  const [h, m] = wallTime.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export function formatWallTime(minutes: number): string {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** Whether a wall time falls in [start, end), a window that may wrap past midnight. */
export function inWindow(minutes: number, start: string, end: string): boolean {
  const s = wallMinutes(start);
  const e = wallMinutes(end);
  if (s === e) return false;
  return s < e ? minutes >= s && minutes < e : minutes >= s || minutes < e;
}

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Days since 1970-01-01 of a YYYY-MM-DD date, NaN for anything else. Plain arithmetic: calendar
 * dates have no zone, and the engine counts days on every step (luxon was a tenth of a fan-out).
 */
function dayNumber(date: string): number {
  const m = ISO_DATE.exec(date);
  if (!m) return Number.NaN;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const at = new Date(Date.UTC(2000, month - 1, day));
  at.setUTCFullYear(year); // Date.UTC reads years 0-99 as 1900-1999
  // 2026-02-30 is not a date: Date would roll it over to March.
  if (at.getUTCMonth() !== month - 1 || at.getUTCDate() !== day) return Number.NaN;
  return at.getTime() / DAY_MS;
}

export function addDays(date: string, days: number): string {
  const n = dayNumber(date) + days;
  return Number.isFinite(n) ? new Date(n * DAY_MS).toISOString().slice(0, 10) : date;
}

/** Whole days from a to b (b later gives a positive number). */
export function daysBetween(a: string, b: string): number {
  return Math.round(dayNumber(b) - dayNumber(a));
}

export function isValidZone(name: string): boolean {
  return IANAZone.isValidZone(name);
}

export function isValidDate(date: string): boolean {
  return Number.isFinite(dayNumber(date));
}

/** The ISO weekday of a YYYY-MM-DD date, Monday 1 to Sunday 7; NaN for anything else. */
export function weekdayOf(date: string): number {
  // 1970-01-01, day 0, was a Thursday.
  return ((((dayNumber(date) + 3) % 7) + 7) % 7) + 1;
}

/** The Monday of the (ISO) week a YYYY-MM-DD date is in; anything else comes back as it is. */
export function mondayOf(date: string): string {
  return addDays(date, 1 - weekdayOf(date));
}

// Node 20's ICU lists some zones under their legacy names (Asia/Calcutta, Europe/Kiev); people type
// the current ones, which the time zone database knows as well.
const CURRENT_NAMES = [
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Europe/Kyiv',
  'America/Nuuk',
  'Asia/Yangon',
  'Asia/Ho_Chi_Minh',
  'Pacific/Kanton',
];
const zoneNames: readonly string[] = [
  ...new Set([
    ...Intl.supportedValuesOf('timeZone'),
    ...CURRENT_NAMES.filter((z) => IANAZone.isValidZone(z)),
  ]),
];
const squash = (s: string) =>
  s
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z]/g, '');

/**
 * An IANA zone from what a person types: "Europe/Berlin", "berlin", "New York", "los angeles".
 * Returns undefined when nothing, or more than one zone, matches.
 */
export function resolveZone(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^utc$|^gmt$/i.test(trimmed)) return 'UTC';
  const exact = zoneNames.find((z) => z.toLowerCase() === trimmed.toLowerCase());
  if (exact) return exact;
  // A valid zone outside the list: accept it only in its proper spelling, never as typed in any case.
  if (trimmed.includes('/') && isValidZone(trimmed) && /^[A-Z]/.test(trimmed)) return trimmed;
  const wanted = squash(trimmed);
  if (wanted.length < 3) return undefined;
  const byCity = zoneNames.filter((z) => squash(z.split('/').pop() ?? '') === wanted);
  // A legacy and a current name of one city (Calcutta/Kolkata) are one answer: prefer the current.
  const current = byCity.filter((z) => CURRENT_NAMES.includes(z));
  if (current.length === 1) return current[0];
  return byCity.length === 1 ? byCity[0] : undefined;
}

/**
 * The first instant after `after` at which the local wall time in `zone` is `wallTime`. A wall time
 * that does not exist that day (spring forward) gives the first valid minute after it; one that
 * exists twice (fall back) gives the first of the two, so a daily push fires once.
 */
export function nextWallTime(after: number, wallTime: string, zone: string): number {
  const wanted = wallMinutes(wallTime);
  const startDay = DateTime.fromMillis(after, { zone }).startOf('day');
  for (let offset = 0; offset <= 2; offset++) {
    const day = startDay.plus({ days: offset });
    let at = day.set({ hour: Math.floor(wanted / 60), minute: wanted % 60, second: 0, millisecond: 0 });
    if (at.hour * 60 + at.minute !== wanted) {
      // In a gap luxon moves forward by the gap's length; step back to the transition instant.
      while (true) {
        const earlier = at.minus({ minutes: 1 });
        if (!earlier.hasSame(day, 'day') || earlier.hour * 60 + earlier.minute < wanted) break;
        at = earlier;
      }
    }
    if (at.toMillis() > after) return at.toMillis();
  }
  throw new Error(`no ${wallTime} in ${zone} after ${new Date(after).toISOString()}`);
}
