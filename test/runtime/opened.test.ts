import { describe, expect, it } from 'vitest';
import { Opened } from '../../src/runtime/opened.ts';

describe('Opened', () => {
  it('closes the last opened first, every closer running whichever failed, and returns the failures', async () => {
    const opened = new Opened();
    const closed: string[] = [];
    const connection = opened.add('connection', (name) => {
      closed.push(name);
    });
    opened.add('queue', () => Promise.reject(new Error('queue would not close')));
    opened.add('worker', (name) => {
      closed.push(name);
      throw new Error('worker would not close');
    });
    opened.add('server', async (name) => {
      closed.push(name);
    });

    expect(connection).toBe('connection');
    const failures = await opened.close();
    expect(closed).toEqual(['server', 'worker', 'connection']);
    expect(failures.map((f) => (f as Error).message)).toEqual([
      'worker would not close',
      'queue would not close',
    ]);
    // Closed is closed: a second close has nothing left to do.
    expect(await opened.close()).toEqual([]);
    expect(closed).toHaveLength(3);
  });
});
