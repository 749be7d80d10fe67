import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';

export interface Health {
  ok: boolean;
  checks: Record<string, string>;
}

/** `/healthz` (200 or 503 with the checks) and `/metrics` (Prometheus text) for an operator. */
export async function startOpsServer(opts: {
  port: number;
  metrics: Metrics;
  health: () => Promise<Health>;
  log: Logger;
}): Promise<{ port: number; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
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
      opts.log.error({ err: error, path }, 'ops request failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  opts.log.info({ port }, 'health and metrics');
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
