import type { ClientRequest } from 'node:http';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { type Departure, tellIfLate } from '../../jobs/delivery.ts';

/**
 * Node's Agent hands each request it is given to a socket here. Not in Node's typings, but what
 * keep-alive agents have overridden for a decade; where it is missing, departures are checked as
 * the call starts instead.
 */
interface RequestAdding {
  addRequest?: (this: unknown, request: ClientRequest, options: unknown) => void;
}

export interface DepartureWatch {
  /** The keep-alive connection pool to give grammY (`baseFetchConfig.agent`). */
  readonly agent: HttpAgent;
  /**
   * Runs `call`, which must start its request before it returns (grammY's calls do: nothing is
   * awaited between a method and its fetch), and tells `departure` when that request has left.
   */
  departing<T>(departure: Departure | undefined, call: () => Promise<T>): Promise<T>;
}

/**
 * grammY's keep-alive pool, which also tells when a request has left: when its last byte is handed
 * to the operating system (its 'finish'), after any wait for a connection (a new one, its TLS
 * handshake, which the first request after start-up or an idle spell makes) and for this thread's
 * next turns. A check made as the call starts misses those waits, and the platform then counts the
 * request later than the pace did: the request a second of the rate's slots after it, on time, is
 * one too many in the platform's second.
 */
export function watchDepartures(apiRoot: string): DepartureWatch {
  const agent = apiRoot.startsWith('https:')
    ? new HttpsAgent({ keepAlive: true })
    : new HttpAgent({ keepAlive: true });
  let next: Departure | undefined;
  const pool = agent as unknown as RequestAdding;
  const add = pool.addRequest;
  if (typeof add === 'function') {
    pool.addRequest = function (request, options) {
      const departure = next;
      next = undefined;
      if (departure) request.once('finish', () => tellIfLate(departure));
      return add.call(this, request, options);
    };
  }
  return {
    agent,
    departing(departure, call) {
      if (!departure) return call();
      next = departure;
      try {
        return call();
      } finally {
        // No request was made at once (a grammY that awaits before it fetches, a Node without
        // addRequest): the request is taken to leave now, as it starts.
        if (next === departure) {
          next = undefined;
          tellIfLate(departure);
        }
      }
    },
  };
}
