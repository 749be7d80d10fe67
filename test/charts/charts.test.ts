import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import {
  COLOURS,
  FONT_FILE,
  type PainPoint,
  painChartSpec,
  type RosterRow,
  renderPixels,
  renderPng,
  renderSvg,
  rosterChartSpec,
} from '../../src/charts/charts.ts';
import { addDays } from '../../src/time/local.ts';

const MISSING = new Set([9, 10, 23, 51, 70]);
const SETBACK = { from: 35, to: 42 }; // the sixth week

/** Twelve weeks from Monday 2026-01-05: improving pain, a setback week, a few days without a check-in. */
function twelveWeeks(): PainPoint[] {
  const points: PainPoint[] = [];
  for (let i = 0; i < 84; i++) {
    if (MISSING.has(i)) continue;
    const setback = i >= SETBACK.from && i < SETBACK.to;
    const pain = setback
      ? 7 + (i % 3 === 0 ? 1 : 0)
      : Math.max(1, Math.round(6 - i / 15 + ((i * 7) % 3) / 2));
    const session = i % 7 === 6 || (setback && i % 2 === 0) ? 'skipped' : i % 4 === 1 ? 'partly' : 'done';
    points.push({ date: addDays('2026-01-05', i), pain, session });
  }
  return points;
}

function roster(): RosterRow[] {
  return Array.from({ length: 12 }, (_, i) => ({
    label: `#${i + 1}`,
    avgPain: i === 7 ? null : ((i * 3) % 9) + 1,
    adherence: ((i * 5) % 11) / 10,
  }));
}

const en = { title: 'Pain and sessions', pain: 'Pain (0–10)', sessions: 'Sessions per week' };
const de = {
  title: 'Schmerz und Übungen',
  pain: 'Schmerz (0–10)',
  sessions: 'Übungstage pro Woche',
  locale: 'de',
} as const;
const rosterLabels = { title: 'Your patients', pain: 'Average pain', adherence: 'Sessions done' };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from the IHDR chunk, which always comes first, right after the signature. */
function ihdr(png: Buffer): { width: number; height: number } {
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const rgbOf = (hex: string) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));

function pixelStats(rgba: Buffer) {
  let nonWhite = 0;
  const colours = new Map<string, number>();
  for (let i = 0; i < rgba.length; i += 4) {
    const [r, g, b] = [rgba[i] ?? 0, rgba[i + 1] ?? 0, rgba[i + 2] ?? 0];
    if (r > 245 && g > 245 && b > 245) continue;
    nonWhite++;
    const key = `${r},${g},${b}`;
    colours.set(key, (colours.get(key) ?? 0) + 1);
  }
  const total = rgba.length / 4;
  /** Share of all pixels painted exactly in a mark colour: anti-aliased edges don't count. */
  const shareOf = (hex: string) => (colours.get(rgbOf(hex).join(',')) ?? 0) / total;
  return { nonWhiteShare: nonWhite / total, distinct: colours.size, shareOf };
}

// Vega-Lite reports a spec it can't honour (a dropped encoding, a scale conflict) only as a warning.
let warn: MockInstance;
beforeEach(() => {
  warn = vi.spyOn(console, 'warn');
});
afterEach(() => {
  expect(warn).not.toHaveBeenCalled();
  warn.mockRestore();
});

describe('pain chart', () => {
  it('renders twelve weeks to a phone-sized, non-blank, deterministic PNG', async () => {
    const spec = painChartSpec(twelveWeeks(), en);
    const first = await renderPng(spec);
    const second = await renderPng(spec);

    expect(first.png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const size = ihdr(first.png);
    expect(size).toEqual({ width: first.width, height: first.height });
    expect(size.width).toBeGreaterThanOrEqual(1440);
    expect(size.height).toBeGreaterThanOrEqual(600);
    expect(second.png.equals(first.png)).toBe(true);

    const pixels = await renderPixels(spec);
    expect({ width: pixels.width, height: pixels.height }).toEqual(size);
    const stats = pixelStats(pixels.rgba);
    expect(stats.nonWhiteShare).toBeGreaterThan(0.02);
    expect(stats.distinct).toBeGreaterThanOrEqual(2);
    // The line and its points, and the weekly bars, each cover a visible area in their own colour.
    expect(stats.shareOf(COLOURS.pain)).toBeGreaterThan(0.002);
    expect(stats.shareOf(COLOURS.sessions)).toBeGreaterThan(0.02);
  });

  it('breaks the line at each run of missing days instead of joining across it', async () => {
    const svg = await renderSvg(painChartSpec(twelveWeeks(), en));
    const line = svg.match(/aria-roledescription="line mark" d="([^"]+)"/)?.[1];
    expect(line).toBeDefined();
    // Runs of missing days: {9, 10}, {23}, {51}, {70}: four gaps, five pieces of line.
    expect(line?.match(/M/g)).toHaveLength(5);
  });

  it('counts done and partly sessions per ISO week, with weeks starting on Monday', () => {
    const spec = painChartSpec(
      [
        { date: '2026-01-04', session: 'done' }, // a Sunday: the week before
        { date: '2026-01-05', session: 'done', pain: 3 },
        { date: '2026-01-06', session: 'partly' },
        { date: '2026-01-07', session: 'skipped', pain: 4 },
        { date: '2026-01-11', session: 'done' },
      ],
      en,
    );
    const weeks = JSON.stringify(spec).match(/"start":"[^"]+","end":"[^"]+","mid":[\d.]+,"sessions":\d/g);
    expect(weeks?.map((w) => w.replace(/"mid":[\d.]+,/, ''))).toEqual([
      '"start":"2025-12-29","end":"2026-01-05","sessions":1',
      '"start":"2026-01-05","end":"2026-01-12","sessions":3',
    ]);
  });

  it('uses the labels it is given, umlauts included, with German month names', async () => {
    const svg = await renderSvg(painChartSpec(twelveWeeks(), de));
    expect(svg).toContain('Schmerz und Übungen');
    expect(svg).toContain('Übungstage pro Woche');
    expect(svg).toMatch(/>\s*\d+\. (Jan|Feb|Mär)\s*</);
    expect(svg).toContain('font-family="DejaVu Sans"');
    const { png } = await renderPng(painChartSpec(twelveWeeks(), de));
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  });

  it('draws the same chart whatever the machine time zone', async () => {
    const before = process.env.TZ;
    const svgIn = async (tz: string) => {
      process.env.TZ = tz;
      return renderSvg(painChartSpec(twelveWeeks(), en));
    };
    try {
      const auckland = await svgIn('Pacific/Auckland');
      const losAngeles = await svgIn('America/Los_Angeles');
      expect(new Date(Date.UTC(2026, 0, 5)).getDate()).toBe(4); // the zone really changed
      expect(losAngeles).toBe(auckland);
      expect(auckland).toMatch(/>\s*5 Jan\s*</);
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it('renders an empty history without failing', async () => {
    const { png } = await renderPng(painChartSpec([], en));
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  });

  it('rejects a malformed date', () => {
    expect(() => painChartSpec([{ date: '2026-1-5', pain: 3 }], en)).toThrow(/YYYY-MM-DD/);
  });
});

describe('roster chart', () => {
  it('renders twelve patients to a non-blank PNG', async () => {
    const spec = rosterChartSpec(roster(), rosterLabels);
    const { png, width, height } = await renderPng(spec);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(ihdr(png)).toEqual({ width, height });
    expect(width).toBeGreaterThanOrEqual(1440);
    const stats = pixelStats((await renderPixels(spec)).rgba);
    expect(stats.shareOf(COLOURS.pain)).toBeGreaterThan(0.02);
    expect(stats.shareOf(COLOURS.sessions)).toBeGreaterThan(0.02);
  });

  it('shows labels only, and a dash where a patient has no pain values', async () => {
    const svg = await renderSvg(rosterChartSpec(roster(), rosterLabels));
    for (let i = 1; i <= 12; i++) expect(svg).toMatch(new RegExp(`>\\s*#${i}\\s*<`));
    expect(svg).toMatch(/>\s*–\s*</);
  });

  it('rejects two rows with the same label, which would be drawn as one', () => {
    const rows = roster();
    rows[1] = { ...rows[1], label: '#1', avgPain: 2, adherence: 0.5 };
    expect(() => rosterChartSpec(rows, rosterLabels)).toThrow(/#1/);
  });
});

it('scales a spec laid out narrower than a phone up to the full width', async () => {
  const { png } = await renderPng({
    width: 200,
    height: 100,
    data: { values: [{ a: 1 }, { a: 2 }] },
    mark: 'point',
    encoding: { x: { field: 'a', type: 'quantitative' } },
  });
  expect(ihdr(png).width).toBe(1440);
});

it('ships the font it renders with', () => {
  expect(existsSync(FONT_FILE)).toBe(true);
});
