import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express from 'express';
import type { DeliveryJob } from '../../jobs/queues.ts';

/** Where Bull Board is mounted on the ops server; everything under /admin needs the token. */
export const ADMIN_PREFIX = '/admin';
export const DASHBOARD_PATH = `${ADMIN_PREFIX}/queues`;
export const ADMIN_REALM = 'backcoach admin';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Whether an Authorization header carries the admin token: `Bearer <token>`, or Basic with any user
 * name and the token as password (what a browser's login prompt sends). Both sides are hashed first
 * so the comparison takes the same time whatever the length or the first wrong character.
 */
export function carriesToken(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const space = header.indexOf(' ');
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const credentials = header.slice(space + 1).trim();
  let candidate: string | undefined;
  if (scheme === 'bearer') candidate = credentials;
  else if (scheme === 'basic') {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    candidate = colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  if (candidate === undefined) return false;
  return timingSafeEqual(digest(candidate), digest(token));
}

/**
 * A state-changing request another site's page made the browser send. The browser attaches a Basic
 * login to those by itself, so retry, clean or empty buttons could otherwise be pressed from anywhere;
 * the board's own requests come from its page, and curl or scripts send no Origin at all.
 */
export function crossSiteWrite(req: IncomingMessage): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  if (req.headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

/** What the board shows of an outbox job: who it is for and how many messages, never their words. */
function outboxSummary(data: unknown): unknown {
  const job = data as Partial<DeliveryJob> | undefined;
  if (!job || typeof job !== 'object') return data;
  return {
    patientId: job.patientId,
    messages: Array.isArray(job.messages) ? job.messages.length : 0,
  };
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Bull Board over the service's queues, as a plain request handler for a node:http server. The caller
 * checks the token first; this only serves the board.
 */
export function createDashboard(
  queues: { timers: Queue; outbox: Queue },
  onError: (error: unknown) => void,
): RequestHandler {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  const outbox = new BullMQAdapter(queues.outbox, { description: 'messages waiting for delivery' });
  outbox.setFormatter('data', outboxSummary);
  createBullBoard({
    queues: [new BullMQAdapter(queues.timers, { description: 'engine timers due to run' }), outbox],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Backcoach queues' } },
  });
  const board = serverAdapter.getRouter() as express.Express;
  board.disable('x-powered-by');
  const app = express();
  app.disable('x-powered-by');
  app.use(DASHBOARD_PATH, board);
  return (req, res) => {
    app(req as express.Request, res as express.Response, (error?: unknown) => {
      if (error) onError(error);
      if (res.headersSent) return void res.end();
      res.writeHead(error ? 500 : 404).end();
    });
  };
}
