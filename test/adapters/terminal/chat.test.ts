import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { SimulatedClock, TerminalChat } from '../../../adapters/terminal/chat.ts';
import { CoachRuntime } from '../../../src/runtime/coach-runtime.ts';
import { PatientStore } from '../../../src/runtime/store.ts';
import { realContent } from '../../support/content.ts';
import { useRedis } from '../../support/redis.ts';
import { TYPED_ONBOARDING, typedDay } from '../../support/terminal-script.ts';

const redisFixture = useRedis();
const exportDir = mkdtempSync(join(tmpdir(), 'backcoach-export-'));
afterAll(() => rmSync(exportDir, { recursive: true, force: true }));

async function runScript(lines: string[], patientId: string) {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk) => {
    printed += chunk.toString();
  });
  const clock = new SimulatedClock(Date.parse('2026-03-02T06:00:00Z'));
  const store = new PatientStore(redisFixture.redis, { prefix: redisFixture.prefix() });
  const chat = new TerminalChat({
    input,
    output,
    patientId,
    locale: 'en',
    timezone: 'UTC',
    clock,
    exportDir,
  });
  chat.attach(new CoachRuntime(store, realContent(), chat.ports, clock.now, pino({ level: 'silent' })));
  const done = chat.run();
  await chat.send('/start');
  input.end(`${lines.join('\n')}\n`);
  await done;
  return { printed, store };
}

describe('terminal chat', () => {
  it('runs a whole onboarding and three simulated days by typing', async () => {
    const script = [
      ...TYPED_ONBOARDING,
      ...typedDay('3', '1'),
      ...typedDay('3', '1'),
      ...typedDay('2', '1'),
      '/progress',
      '/export',
    ];
    const { printed, store } = await runScript(script, 'terminal:e2e');
    expect(printed).toContain('All set! Your drills arrive every day at 07:30 (Europe/Berlin)');
    expect(printed).toContain('[clock: 2026-03-02T06:30:00.000Z]');
    expect(printed.match(/Today’s session: \d drills/g)).toHaveLength(3);
    expect(printed).toMatch(/Great progress: 3 good sessions in a row/);
    expect(printed).toMatch(/up to level/);
    expect(printed).toContain('Your progress');
    const state = await store.load('terminal:e2e');
    expect(state?.days.filter((d) => d.decision)).toHaveLength(3);
    expect(state?.days.map((d) => d.pain)).toEqual([3, 3, 2]);
    const exported = JSON.parse(readFileSync(join(exportDir, 'terminal_e2e.json'), 'utf8'));
    expect(exported.state.id).toBe('terminal:e2e');
  });

  it('re-prompts kindly on nonsense and keeps going', async () => {
    const { printed } = await runScript(['1', 'purple', '2'], 'terminal:nonsense');
    expect(printed).toContain('Sorry, I didn’t get that.');
    expect(printed).toContain('Do you have numbness');
  });

  it('explains the clock commands and refuses !tomorrow before a schedule exists', async () => {
    const { printed } = await runScript(['!tomorrow', '!what', '!wait 2x'], 'terminal:clock');
    expect(printed).toContain('[no schedule yet: finish setting up first]');
    expect(printed).toContain('!tomorrow jumps to the next drill time');
    expect(printed).toContain('[usage: !wait 30m | 2h | 1d]');
  });
});
