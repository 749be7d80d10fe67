import { painChartSpec, renderPng, rosterChartSpec } from '../src/charts/charts.ts';
import type { OutboundMessage } from '../src/engine/events.ts';
import type { Deliver } from './delivery.ts';

/** Draws a message's chart, if it asks for one, into the picture the platforms send. */
export async function withChart(message: OutboundMessage): Promise<OutboundMessage> {
  const { chart, ...rest } = message;
  if (!chart) return message;
  const spec =
    chart.kind === 'pain'
      ? painChartSpec(chart.points, chart.labels)
      : rosterChartSpec(chart.rows, chart.labels);
  const { png } = await renderPng(spec);
  return { ...rest, image: { png: png.toString('base64'), alt: chart.labels.title } };
}

/** A platform's delivery that first draws any chart; a retried job draws it again (it is deterministic). */
export function drawingCharts(deliver: Deliver): Deliver {
  return async (recipient, message) => deliver(recipient, await withChart(message));
}
