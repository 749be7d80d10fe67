import { describe, expect, it } from 'vitest';
import { createLogger, safeError } from '../../src/runtime/logger.ts';

class ClientError extends Error {
  constructor(
    message: string,
    readonly error?: unknown,
  ) {
    super(message);
  }
}

describe('safeError', () => {
  it('blanks tokens quoted by a nested client error, in its message and its stack', () => {
    const inner = new Error(
      'request to http://127.0.0.1:8081/bot123456:AAH-secret_part/sendMessage failed, reason: ECONNREFUSED',
    );
    const shown = JSON.stringify(
      safeError(new ClientError("Network request for 'sendMessage' failed!", inner)),
    );
    expect(shown).toContain("Network request for 'sendMessage' failed!");
    expect(shown).toContain('/bot<redacted>/sendMessage');
    expect(shown).toContain('ECONNREFUSED');
    expect(shown).not.toContain('AAH-secret_part');
  });

  it('blanks Slack tokens and Authorization headers, and drops echoed requests at any depth', () => {
    const error = Object.assign(new Error('A request error occurred: invalid_auth for xoxb-1-2-secret'), {
      original: Object.assign(new Error('socket hang up'), {
        config: { headers: { Authorization: 'Bearer xoxb-1-2-secret' }, data: 'text=My back hurts' },
        note: 'retried with Bearer abc.def-ghi and xapp-1-A1-secret',
      }),
      data: { ok: false, error: 'invalid_auth' },
    });
    const shown = JSON.stringify(safeError(error));
    expect(shown).toContain('socket hang up');
    for (const secret of ['xoxb-1-2-secret', 'abc.def-ghi', 'xapp-1-A1-secret', 'My back hurts', 'config']) {
      expect(shown).not.toContain(secret);
    }
    expect(shown).toContain('Bearer <redacted>');
  });

  it('leaves the original error untouched and copes with cycles', () => {
    const details: Record<string, unknown> = { url: '/bot1:abc/getMe', payload: { text: 'hi' } };
    details.self = details;
    const error = Object.assign(new Error('boom'), { details });
    const shown = safeError(error) as { details: Record<string, unknown> };
    expect(shown.details).toEqual({ url: '/bot<redacted>/getMe', self: '[…]' });
    expect(details.url).toBe('/bot1:abc/getMe');
    expect(details.payload).toEqual({ text: 'hi' });
  });

  it('is what the project logger uses for err', () => {
    const lines: string[] = [];
    const log = createLogger('info', { write: (line: string) => lines.push(line) });
    log.error({ err: new ClientError('failed', new Error('GET /bot42:token-part/getMe')) }, 'call failed');
    expect(lines.join('')).toContain('/bot<redacted>/getMe');
    expect(lines.join('')).not.toContain('token-part');
  });
});
