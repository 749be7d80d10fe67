import { painChartSpec, renderPng, rosterChartSpec } from '../src/charts/charts.ts';
import type { ChartRequest, OutboundMessage } from '../src/engine/events.ts';
import type { Deliver } from './delivery.ts';

export type ChartImage = NonNullable<OutboundMessage['image']>;

/** Draws a chart into the picture the platforms send. */
export async function imageOf(chart: ChartRequest): Promise<ChartImage> {
  const spec =
    chart.kind === 'pain'
      ? painChartSpec(chart.points, chart.labels)
      : rosterChartSpec(chart.rows, chart.labels);
  const { png } = await renderPng(spec);
  return { png: png.toString('base64'), alt: chart.labels.title };
}

/** Draws a chart: `imageOf` on the caller's thread, `ChartPool.draw` on one of its own. */
export type DrawChart = (chart: ChartRequest) => Promise<ChartImage>;

/** The message with its chart, if it asks for one, drawn into its `image`. */
export async function withChart(message: OutboundMessage, draw: DrawChart): Promise<OutboundMessage> {
  const { chart, ...rest } = message;
  if (!chart) return message;
  return { ...rest, image: await draw(chart) };
}

/**
 * A message with a picture as two, each one request to the platform: the picture, which closes the
 * question the message answers, then the text with its buttons. As one message of two requests, the
 * picture would go again each time the text failed and was retried, and two requests would take one
 * slot of the platform's pace.
 */
export function pictureApart(message: OutboundMessage): OutboundMessage[] {
  const { chart, image, closes, ...text } = message;
  if (!chart && !image) return [message];
  const picture: OutboundMessage = {
    text: '',
    ...(closes !== undefined ? { closes } : {}),
    ...(chart ? { chart } : {}),
    ...(image ? { image } : {}),
  };
  return [picture, text];
}

/**
 * A delivery that first draws any chart, before `deliver` waits for its slot: a pace's slot is not
 * spent on drawing, and a message the platform asks to retry later is not drawn again.
 */
export function drawingCharts(deliver: Deliver, draw: DrawChart): Deliver {
  return async (recipient, message) => deliver(recipient, await withChart(message, draw));
}
