import { createServer, type Server } from 'node:http';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import {
  ADMIN_PREFIX,
  ADMIN_REALM,
  carriesToken,
  createDashboard,
  crossSiteWrite,
} from './admin-dashboard.ts';
import { type Listening, listen } from './http-listen.ts';
import type { Metrics } from './metrics.ts';

export interface Health {
  ok: boolean;
  checks: Record<string, string>;
}

/**
 * `/healthz` (200 or 503 with the checks) and `/metrics` (Prometheus text) for an operator, and with
 * `admin` the queue dashboard under `/admin/queues` for whoever has the token.
 */
export async function startOpsServer(opts: {
  port: number;
  metrics: Metrics;
  health: () => Promise<Health>;
  log: Logger;
  admin?: { token: string; queues: { timers: Queue; outbox: Queue } };
}): Promise<Listening> {
  const { admin, log } = opts;
  const dashboard =
    admin &&
    createDashboard(admin.queues, (error) => log.error({ err: error }, 'queue dashboard request failed'));
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (admin && dashboard && (path === ADMIN_PREFIX || path.startsWith(`${ADMIN_PREFIX}/`))) {
      if (!carriesToken(req.headers.authorization, admin.token)) {
        res
          .writeHead(401, { 'www-authenticate': `Basic realm="${ADMIN_REALM}"`, 'cache-control': 'no-store' })
          .end();
        return;
      }
      if (crossSiteWrite(req)) {
        res.writeHead(403).end();
        return;
      }
      dashboard(req, res);
      return;
    }
    const answer = async () => {
      if (req.method === 'GET' && path === '/metrics') {
        const body = await opts.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(body);
        return;
      }
      if (req.method === 'GET' && path === '/healthz') {
        const health = await opts.health();
        res
          .writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify(health));
        return;
      }
      res.writeHead(404).end();
    };
    answer().catch((error: unknown) => {
      log.error({ err: error, path }, 'ops request failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    });
  });
  const listening = await listen(server, opts.port);
  log.info({ port: listening.port, dashboard: Boolean(admin) }, 'health and metrics');
  return listening;
}
