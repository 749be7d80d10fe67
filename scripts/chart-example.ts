/**
 * Writes docs/chart-example.png, the chart shown in the README: `npx tsx scripts/chart-example.ts`.
 * The history is made up but shaped like a real one, and fixed, so the file only changes when the
 * chart code does.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type PainPoint, painChartSpec, renderPng } from '../src/charts/charts.ts';
import { addDays } from '../src/time/local.ts';

// A fixed-seed generator: Math.random would give a different picture, and a new PNG, on every run.
let seed = 20260105;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

const points: PainPoint[] = [];
for (let day = 0; day < 84; day++) {
  // A weekend away and a couple of forgotten check-ins.
  if ([19, 20, 47, 66].includes(day)) continue;
  const setback = day >= 38 && day < 44; // lifted a heavy box in week six
  const trend = 6.5 - (4.5 * day) / 83;
  const pain = Math.round(Math.min(10, Math.max(0, (setback ? trend + 3 : trend) + (random() - 0.5) * 1.6)));
  const r = random();
  const session = setback
    ? day % 3 === 0
      ? 'partly'
      : 'skipped'
    : r < 0.12
      ? 'skipped'
      : r < 0.3
        ? 'partly'
        : 'done';
  points.push({ date: addDays('2026-01-05', day), pain, session });
}

const spec = painChartSpec(points, {
  title: 'Pain and sessions over twelve weeks',
  pain: 'Pain (0–10)',
  sessions: 'Sessions per week',
});
const { png, width, height } = await renderPng(spec);
const out = fileURLToPath(new URL('../docs/chart-example.png', import.meta.url));
writeFileSync(out, png);
console.log(`${out}: ${width}×${height}, ${Math.round(png.length / 1024)} KB`);
