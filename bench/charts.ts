/**
 * bench/charts: what drawing Monday's weekly chart costs. On a Monday, a patient with a week of
 * check-ins behind them gets the chart of their last twelve weeks with the day's push, drawn as the
 * message is delivered (Vega-Lite to SVG, then resvg to PNG) on the process's main thread.
 *
 *   npm run bench:charts -- [--history-days 84] [--charts 40]
 *
 * Reports the time a chart takes (median of the timed ones, after a warm-up) and its two parts.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { painChartSpec, renderPng, renderSvg } from '../src/charts/charts.ts';
import type { OutboundMessage } from '../src/engine/events.ts';
import { duePatient } from '../test/support/fanout.ts';
import { fmt, intFlag, median, runBench, say } from './support.ts';

const { values: args } = parseArgs({
  options: {
    'history-days': { type: 'string', default: '84' },
    charts: { type: 'string', default: '40' },
  },
});
const HISTORY_DAYS = intFlag(args, 'history-days', 7);
const CHARTS = intFlag(args, 'charts', 1);
const WARM_UP = 5;

/** The median of `runs` timings of `work`, in ms. */
async function timed(runs: number, work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  return median(times);
}

async function main(): Promise<void> {
  // A Monday, so that the push carries the weekly chart.
  const monday = Date.parse('2026-11-30T10:00:00Z');
  const { sample } = duePatient(monday, 'UTC', HISTORY_DAYS);
  const chart = sample.find(
    (m): m is OutboundMessage & { chart: { kind: 'pain' } } => m.chart?.kind === 'pain',
  )?.chart;
  if (!chart) throw new Error('the Monday push carries no weekly chart');
  const spec = painChartSpec(chart.points, chart.labels);
  for (let i = 0; i < WARM_UP; i++) await renderPng(spec);
  const cpuBefore = process.cpuUsage();
  const png = await timed(CHARTS, () => renderPng(spec));
  const cpu = process.cpuUsage(cpuBefore);
  const svg = await timed(CHARTS, () => renderSvg(spec));
  const { png: bytes, width, height } = await renderPng(spec);
  say(
    `bench/charts: the weekly chart of a patient with ${HISTORY_DAYS} days of check-ins (${chart.points.length} points)`,
  );
  say(
    `- a chart: ${fmt(png, 1)} ms (median of ${CHARTS}), ${fmt((cpu.user + cpu.system) / 1000 / CHARTS, 1)} ms of CPU on average`,
  );
  say(
    `- of which Vega-Lite to SVG ${fmt(svg, 1)} ms, resvg to PNG the rest (${width} × ${height} px, ${fmt(bytes.length)} bytes)`,
  );
  say(
    `- so one thread draws about ${fmt(1000 / png)} charts a second: a Monday fan-out's pace wherever every patient has a week behind them`,
  );
}

await runBench('bench/charts', main, async () => {});
