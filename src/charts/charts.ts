import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Locale } from '../content/schema.ts';
import { addDays, isValidDate, mondayOf } from '../time/local.ts';

export type VegaLiteSpec = TopLevelSpec;

/** One day of a patient's history; a day with neither field is the same as a missing day. */
export interface PainPoint {
  date: string /* YYYY-MM-DD */;
  pain?: number /* 0–10 */;
  session?: 'done' | 'partly' | 'skipped';
}

/** Title and panel labels in the reader's language. */
export interface ChartLabels {
  title: string;
  pain: string;
  sessions: string;
  /** Month names and number formats on the axes; English when absent. */
  locale?: Locale;
}

export interface RosterRow {
  /** e.g. "#3" — never a name; unique within one chart. */
  label: string;
  avgPain: number | null;
  /** 0..1 */
  adherence: number;
}

export interface RosterLabels {
  title: string;
  pain: string;
  adherence: string;
  locale?: Locale;
}

/** The font shipped in the repo, so that a chart looks the same on every machine. */
export const FONT_FILE = fileURLToPath(new URL('../../content/fonts/DejaVuSans.ttf', import.meta.url));
/** The family name inside FONT_FILE; vega writes it into the SVG and resvg matches it. */
export const FONT_FAMILY = 'DejaVu Sans';

/** Charts are laid out for this width (CSS px), then rasterised at twice that for sharp phone screens. */
const MIN_WIDTH = 720;
const SCALE = 2;
// The same room for both panels' y labels keeps their titles and plots aligned.
const Y_AXIS_EXTENT = 28;

const INK = '#1f2933';
const MUTED = '#616e7c';
const GRID = '#e4e7eb';
/** Mark colours, the same in every chart so that red always means pain. */
export const COLOURS = { pain: '#c0392b', sessions: '#2e86ab' } as const;

// d3-format / d3-time-format locale definitions: vega otherwise formats everything in US English.
const LOCALES: Record<Locale, NonNullable<vega.Config['locale']>> = {
  en: {
    number: { decimal: '.', thousands: ',', grouping: [3], currency: ['$', ''] },
    time: {
      dateTime: '%a %e %b %X %Y',
      date: '%d/%m/%Y',
      time: '%H:%M:%S',
      periods: ['AM', 'PM'],
      days: ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'],
      shortDays: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'],
      months: [
        'January',
        'February',
        'March',
        'April',
        'May',
        'June',
        'July',
        'August',
        'September',
        'October',
        'November',
        'December',
      ],
      shortMonths: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
    },
  },
  de: {
    number: { decimal: ',', thousands: '.', grouping: [3], currency: ['', '\u00a0€'] },
    time: {
      dateTime: '%A, der %e. %B %Y, %X',
      date: '%d.%m.%Y',
      time: '%H:%M:%S',
      periods: ['AM', 'PM'],
      days: ['Sonntag', 'Montag', 'Dienstag', 'Mittwoch', 'Donnerstag', 'Freitag', 'Samstag'],
      shortDays: ['So', 'Mo', 'Di', 'Mi', 'Do', 'Fr', 'Sa'],
      months: [
        'Januar',
        'Februar',
        'März',
        'April',
        'Mai',
        'Juni',
        'Juli',
        'August',
        'September',
        'Oktober',
        'November',
        'Dezember',
      ],
      shortMonths: ['Jan', 'Feb', 'Mär', 'Apr', 'Mai', 'Jun', 'Jul', 'Aug', 'Sep', 'Okt', 'Nov', 'Dez'],
    },
  },
};

const DAY_FORMAT: Record<Locale, string> = { en: '%-d %b', de: '%-d. %b' };

function config(locale: Locale = 'en'): NonNullable<TopLevelSpec['config']> {
  return {
    font: FONT_FAMILY,
    background: '#ffffff',
    locale: LOCALES[locale],
    padding: 16,
    view: { stroke: null },
    title: { fontSize: 22, fontWeight: 'normal', color: INK, anchor: 'start', offset: 12 },
    axis: {
      labelFontSize: 14,
      titleFontSize: 15,
      labelColor: MUTED,
      titleColor: INK,
      gridColor: GRID,
      domainColor: MUTED,
      tickColor: MUTED,
    },
    header: { labelFontSize: 14, titleFontSize: 15 },
    text: { fontSize: 14 },
  };
}

function panelTitle(text: string) {
  return { text, fontSize: 16, fontWeight: 'normal' as const, color: INK, anchor: 'start' as const };
}

const DAY_MS = 86_400_000;
const utcMs = (date: string) => Date.parse(`${date}T00:00:00Z`);

/**
 * Pain over time (line with points, 0–10 scale fixed) with weekly adherence (bars: sessions done or
 * partly per ISO week, 0–7), for a phone screen. Later points for the same date replace earlier ones.
 */
export function painChartSpec(points: readonly PainPoint[], labels: ChartLabels): VegaLiteSpec {
  const byDate = new Map<string, PainPoint>();
  for (const p of points) {
    if (!isValidDate(p.date)) throw new RangeError(`chart point date ${p.date} is not YYYY-MM-DD`);
    byDate.set(p.date, p);
  }
  const dates = [...byDate.keys()].sort();
  const first = dates[0];
  const last = dates[dates.length - 1];

  // A line only breaks where a row has a null, not where a row is absent, so every calendar day from
  // the first to the last gets a row: a missing day is then a gap instead of a straight line across
  // it, and a lone day between two gaps still shows as its point. Simpler than computing segments.
  const days: { date: string; pain: number | null }[] = [];
  const weeks = new Map<string, number>();
  if (first !== undefined && last !== undefined) {
    for (let d = first; d <= last; d = addDays(d, 1)) {
      const p = byDate.get(d);
      days.push({ date: d, pain: p?.pain ?? null });
      const week = mondayOf(d);
      const sessions = p?.session === 'done' || p?.session === 'partly' ? 1 : 0;
      weeks.set(week, (weeks.get(week) ?? 0) + sessions);
    }
  }
  const weekRows = [...weeks].map(([start, sessions]) => ({
    start,
    end: addDays(start, 7),
    mid: utcMs(start) + 3.5 * DAY_MS,
    sessions,
  }));

  // Ticks on ISO week starts so that they line up with the bars; every week fits up to ~13 weeks.
  const step = Math.max(1, Math.ceil(weekRows.length / 13));
  const tickValues = weekRows.filter((_, i) => i % step === 0).map((w) => utcMs(w.start));
  const locale = labels.locale ?? 'en';
  const width = 670;
  // Dates are parsed as UTC and shown with UTC time units, so the chart doesn't move with the
  // machine's time zone.
  const parseDate = "utc:'%Y-%m-%d'";
  const x = (field: string, showLabels: boolean) => ({
    field,
    type: 'temporal' as const,
    timeUnit: 'utcyearmonthdate' as const,
    axis: {
      title: null,
      values: tickValues,
      format: DAY_FORMAT[locale],
      labels: showLabels,
      ticks: showLabels,
      labelAngle: 0,
      labelOverlap: true,
    },
  });

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: labels.title,
    config: config(locale),
    resolve: { scale: { x: 'shared' } },
    spacing: 20,
    vconcat: [
      {
        title: panelTitle(labels.pain),
        width,
        height: 280,
        data: { values: days, format: { parse: { date: parseDate } } },
        mark: {
          type: 'line',
          color: COLOURS.pain,
          strokeWidth: 2.5,
          // 'filter' would drop the nulls and join the line across them; breaking keeps the gaps.
          invalid: 'break-paths-show-domains',
          point: { filled: true, size: 40, color: COLOURS.pain },
        },
        encoding: {
          x: x('date', false),
          y: {
            field: 'pain',
            type: 'quantitative',
            scale: { domain: [0, 10], nice: false, clamp: true },
            axis: { title: null, values: [0, 2, 4, 6, 8, 10], minExtent: Y_AXIS_EXTENT },
          },
        },
      },
      {
        title: panelTitle(labels.sessions),
        width,
        height: 130,
        data: {
          values: weekRows,
          format: { parse: { start: parseDate, end: parseDate } },
        },
        layer: [
          {
            mark: { type: 'bar', color: COLOURS.sessions, xOffset: 3, x2Offset: -3 },
            encoding: {
              x: x('start', true),
              x2: { field: 'end', timeUnit: 'utcyearmonthdate' },
              y: {
                field: 'sessions',
                type: 'quantitative',
                scale: { domain: [0, 7], nice: false },
                axis: { title: null, values: [0, 7], grid: false, minExtent: Y_AXIS_EXTENT },
              },
              // Ranged on x (the week), so the bar's other end has to be given, or it is drawn as a thin band.
              y2: { datum: 0 },
            },
          },
          {
            // The count over each bar: a week's number of sessions is what a patient looks for.
            mark: { type: 'text', color: INK, dy: -9, fontSize: 14 },
            encoding: {
              x: { field: 'mid', type: 'temporal', scale: { type: 'utc' } },
              y: { field: 'sessions', type: 'quantitative' },
              text: { field: 'sessions', type: 'quantitative' },
            },
          },
        ],
      },
    ],
  };
}

/** Average pain and adherence per patient of a coach's roster, one row each, in the given order. */
export function rosterChartSpec(rows: readonly RosterRow[], labels: RosterLabels): VegaLiteSpec {
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.label)) throw new RangeError(`roster chart label ${r.label} appears twice`);
    seen.add(r.label);
  }
  const values = rows.map((r) => ({
    label: r.label,
    avgPain: r.avgPain,
    adherence: Math.min(1, Math.max(0, r.adherence)),
  }));
  const locale = labels.locale ?? 'en';
  const y = (showLabels: boolean) => ({
    field: 'label',
    type: 'nominal' as const,
    sort: null,
    axis: { title: null, labels: showLabels, ticks: false, domain: false },
  });
  const height = Math.max(1, rows.length) * 30;
  const width = 320;

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: labels.title,
    config: config(locale),
    data: { values },
    resolve: { scale: { y: 'shared' } },
    spacing: 24,
    hconcat: [
      {
        title: panelTitle(labels.adherence),
        width,
        height,
        layer: [
          {
            mark: { type: 'bar', color: COLOURS.sessions, cornerRadiusEnd: 2 },
            encoding: {
              y: y(true),
              x: {
                field: 'adherence',
                type: 'quantitative',
                scale: { domain: [0, 1], nice: false },
                axis: { title: null, format: '.0%', values: [0, 0.5, 1] },
              },
            },
          },
        ],
      },
      {
        title: panelTitle(labels.pain),
        width,
        height,
        layer: [
          {
            mark: { type: 'bar', color: COLOURS.pain, cornerRadiusEnd: 2, invalid: 'filter' },
            encoding: {
              y: y(false),
              x: {
                field: 'avgPain',
                type: 'quantitative',
                scale: { domain: [0, 10], nice: false, clamp: true },
                axis: { title: null, values: [0, 5, 10] },
              },
            },
          },
          {
            // Without it a patient with no pain values would look like one with pain 0.
            transform: [{ filter: 'datum.avgPain == null' }, { calculate: "'–'", as: 'none' }],
            mark: { type: 'text', color: MUTED, align: 'left', dx: 4, fontSize: 14 },
            encoding: { y: y(false), x: { datum: 0, type: 'quantitative' }, text: { field: 'none' } },
          },
        ],
      },
    ],
  };
}

/** Renders a Vega-Lite spec to SVG text, with the shipped font's family name in every text element. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function rasterise(svg: string): ReturnType<Resvg['render']> {
  const font = { fontFiles: [FONT_FILE], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY };
  const atScale = new Resvg(svg, { background: '#ffffff', font, fitTo: { mode: 'zoom', value: SCALE } });
  if (atScale.width >= MIN_WIDTH) return atScale.render();
  // A spec laid out narrower than a phone needs is scaled up rather than delivered too small.
  const fitTo = { mode: 'width', value: MIN_WIDTH * SCALE } as const;
  return new Resvg(svg, { background: '#ffffff', font, fitTo }).render();
}

/** Renders a Vega-Lite spec to PNG bytes (width ≥ 720 px so it is readable on a phone once scaled), with the shipped font. */
export async function renderPng(spec: VegaLiteSpec): Promise<{ png: Buffer; width: number; height: number }> {
  const image = rasterise(await renderSvg(spec));
  return { png: image.asPng(), width: image.width, height: image.height };
}

/** @internal The RGBA pixels renderPng would encode, for tests that look at what is drawn. */
export async function renderPixels(
  spec: VegaLiteSpec,
): Promise<{ rgba: Buffer; width: number; height: number }> {
  const image = rasterise(await renderSvg(spec));
  return { rgba: image.pixels, width: image.width, height: image.height };
}
