import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  /** The port bound (the one asked for, or the free one picked for 0). */
  port: number;
  /** Stops taking connections, drops idle keep-alive ones, and resolves once the rest have ended. */
  stop(): Promise<void>;
}

/** Binds `server` and resolves once it listens; a bind error (port in use) rejects. */
export async function listen(server: Server, port: number, host?: string): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (host === undefined) server.listen(port, () => resolve());
    else server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
