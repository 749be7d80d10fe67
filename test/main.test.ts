import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startFakeBotApi } from './support/fake-bot-api.ts';
import { useRedis } from './support/redis.ts';
import { TYPED_ONBOARDING, typedDay } from './support/terminal-script.ts';

const redisFixture = useRedis();
const temp = mkdtempSync(join(tmpdir(), 'backcoach-main-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Runs `npm start`'s entry point as a real process, with the given env and stdin. */
function start(
  env: Record<string, string>,
  stdin = '',
  args: string[] = [],
  running?: (child: ChildProcess) => void,
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
    running?.(child);
  });
}

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '');

describe('start-up', () => {
  it('stops with one line naming a bad environment variable, exit code 2', async () => {
    const { code, stderr } = await start({ REDIS_URL: 'http://localhost:6379' });
    expect(code).toBe(2);
    expect(errorLines(stderr)).toHaveLength(1);
    expect(stderr).toMatch(/REDIS_URL/);
  });

  it('stops with one line naming a malformed content file and field, exit code 2', async () => {
    const dir = join(temp, 'content');
    cpSync('content', dir, { recursive: true });
    writeFileSync(join(dir, 'screening.yaml'), 'redFlags:\n  emergency: []\n');
    const { code, stderr } = await start({ CONTENT_DIR: dir, REDIS_URL: redisFixture.url });
    expect(code).toBe(2);
    expect(errorLines(stderr)).toHaveLength(1);
    expect(stderr).toMatch(/screening\.yaml: redFlags\.emergency/);
  });

  it('opens the terminal chat with no platform tokens and walks a patient through', async () => {
    const user = `main${Date.now()}`;
    const script = [...TYPED_ONBOARDING, ...typedDay('3', '2'), '/delete', '1'].join('\n');
    const { code, stdout, stderr } = await start({ REDIS_URL: redisFixture.url }, `${script}\n`, [
      '--user',
      user,
      '--tz',
      'Europe/Berlin',
      '--clock',
      '2026-03-02T05:00:00Z',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('Hi, I’m Backcoach');
    expect(stdout).toContain('All set!');
    expect(stdout).toContain('Today’s session');
    expect(stdout).toContain('Steady: pain 3 today (your baseline: 4)');
    expect(stdout).toContain('Everything is deleted.');
    const left = await redisFixture.redis.keys(`bc:{terminal:${user}}*`);
    expect(left).toEqual([]);
  });

  it('stops in one line, exit code 2, when the Bot API does not answer (after trying again)', async () => {
    let requests = 0;
    const silent = createServer((req) => {
      requests++;
      req.socket.destroy();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { code, stderr } = await start({
        REDIS_URL: redisFixture.url,
        REDIS_PREFIX: redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, ''),
        TELEGRAM_BOT_TOKEN: '999:silent',
        TELEGRAM_API_ROOT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        LOG_LEVEL: 'silent',
      });
      expect(code).toBe(2);
      expect(errorLines(stderr)).toEqual([
        expect.stringMatching(/^backcoach: could not start: .*deleteWebhook/),
      ]);
      // The menu (three calls) and then polling's set-up, each tried three times.
      expect(requests).toBe(12);
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 60_000);

  it('with a Telegram token, runs the bot by long polling and answers /start, then stops cleanly on SIGTERM', async () => {
    const fake = await startFakeBotApi({ token: '999:main-test' });
    try {
      const prefix = redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '');
      const env = {
        REDIS_URL: redisFixture.url,
        REDIS_PREFIX: prefix,
        TELEGRAM_BOT_TOKEN: '999:main-test',
        TELEGRAM_API_ROOT: fake.apiRoot,
        LOG_LEVEL: 'warn',
      };
      const result = await start(env, '', [], (child) => {
        void (async () => {
          await vi.waitFor(() => expect(fake.stats.requests.get('getUpdates')).toBeGreaterThan(0), {
            timeout: 20_000,
          });
          fake.pushUpdate({
            message: {
              message_id: 1,
              date: 0,
              chat: { id: 31, type: 'private', first_name: 'Pat' },
              from: { id: 31, is_bot: false, first_name: 'Pat', language_code: 'en' },
              text: '/start',
              entities: [{ type: 'bot_command', offset: 0, length: 6 }],
            },
          });
          await vi.waitFor(
            () => expect(fake.messages().some((m) => /Hi, I’m Backcoach/.test(m.text ?? ''))).toBe(true),
            {
              timeout: 20_000,
            },
          );
        })().finally(() => child.kill('SIGTERM'));
      });
      expect(result.code).toBe(0);
      expect(fake.messages().find((m) => /Hi, I’m Backcoach/.test(m.text ?? ''))?.chatId).toBe('31');
    } finally {
      await fake.stop();
    }
  }, 60_000);

  it('refuses a bad --clock value in one line', async () => {
    const { code, stderr } = await start({ REDIS_URL: redisFixture.url }, '', ['--clock', 'yesterday']);
    expect(code).toBe(2);
    expect(errorLines(stderr)).toEqual([
      'backcoach: --clock: expected an ISO date-time like 2026-03-01T07:00, got yesterday',
    ]);
  });
});
