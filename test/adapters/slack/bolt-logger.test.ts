import { describe, expect, it } from 'vitest';
import { boltLogger } from '../../../adapters/slack/bolt-logger.ts';
import { createLogger } from '../../../src/runtime/logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('trace', { write: (line: string) => lines.push(JSON.parse(line)) });
  return { lines, bolt: boltLogger(log) };
}

describe('Bolt’s logger', () => {
  it('drops debug and info, which carry whole request bodies', () => {
    const { lines, bolt } = capture();
    bolt.debug(JSON.stringify({ event: { text: 'my back hurts at 7' } }));
    bolt.info('received', { text: 'my back hurts at 7' });
    expect(lines).toEqual([]);
  });

  it('writes warnings and errors as JSON lines, with credentials blanked and no payloads', () => {
    const { lines, bolt } = capture();
    bolt.setName('bolt-app');
    bolt.warn('Failed to verify with token xoxb-1234-5678-abcdef:', 3);
    const error = Object.assign(new Error('An API error occurred: invalid_auth'), {
      code: 'slack_webapi_platform_error',
      data: { ok: false, error: 'invalid_auth', text: 'my back hurts at 7' },
    });
    bolt.error('An unhandled error occurred while Bolt processed an event', error, { text: 'secret words' });
    expect(lines).toMatchObject([
      { level: 40, component: 'bolt-app', msg: 'Failed to verify with token xox-<redacted>: 3' },
      {
        level: 50,
        component: 'bolt-app',
        msg: 'An unhandled error occurred while Bolt processed an event',
        err: { message: 'An API error occurred: invalid_auth', code: 'slack_webapi_platform_error' },
      },
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/my back hurts|secret words|xoxb-1234/);
  });
});
