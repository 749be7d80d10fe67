import { expect } from 'vitest';
import { nextWallTime } from '../../src/time/local.ts';
import { HEALTHY } from './patient.ts';

/** A person in a chat with the bot on any platform, as the journeys need them. */
export interface ChatUser {
  say(text: string, until?: RegExp): Promise<{ text?: string }[]>;
  tap(value: string | number, until?: RegExp): Promise<{ text?: string }[]>;
  act(action: () => Promise<void>, until?: RegExp): Promise<{ text?: string }[]>;
  /** The text of the last message the bot sent them. */
  lastText(): string | undefined;
}

/** The test's clock: the service reads it, the journey moves it from one drill time to the next. */
export class TestClock {
  constructor(public now: number) {}
  read = (): number => this.now;
  nextDrillTime(): void {
    this.now = nextWallTime(this.now, '08:00', 'Europe/Berlin') + 1000;
  }
}

/** Onboarding as a patient does it: mostly taps, the baseline pain typed. */
export async function onboard(user: ChatUser, start = '/start COACH-7'): Promise<void> {
  const a = HEALTHY;
  const welcome = await user.say(start);
  expect(welcome.map((m) => m.text).join('\n')).toMatch(/Hi, I’m Backcoach/);
  await user.tap('yes');
  for (const v of a.emergency) await user.tap(v);
  await user.tap(a.age);
  for (const v of a.clinician) await user.tap(v);
  expect(user.lastText()).toMatch(/How bad is your back pain right now/);
  await user.say(String(a.baseline));
  for (const v of a.startBack) await user.tap(v);
  for (const v of [a.sideLeft, a.sideRight, a.stance, 'yes', 'no', 'no', '08:00', 'Europe/Berlin'])
    await user.tap(v);
  await user.tap('none', /All set!/);
}

export interface DayAnswers {
  pain: number;
  difficulty: 'too_easy' | 'about_right' | 'too_hard';
  painDuring: 'none' | 'mild' | 'moderate' | 'severe';
}

/** One day: the clock moves to 08:00 Berlin, the push arrives, the patient reports by taps. */
export async function day(user: ChatUser, clock: TestClock, answers: DayAnswers): Promise<string> {
  const push = await user.act(async () => clock.nextDrillTime(), /Today’s session|safety check/);
  if (push.some((m) => /safety check/.test(m.text ?? ''))) {
    for (let i = 0; i < 2; i++) await user.tap('no');
    await user.tap('no', /Today’s session/);
  }
  await user.tap('done');
  await user.tap(answers.pain);
  await user.tap(answers.difficulty);
  const end = await user.tap(answers.painDuring, /Thanks for checking in/);
  return end.map((m) => m.text).join('\n');
}

/** The whole journey: onboarding, three good days to a breakthrough, then a setback. */
export async function journey(user: ChatUser, clock: TestClock, start?: string): Promise<void> {
  await onboard(user, start);
  const good = { pain: 3, difficulty: 'too_easy', painDuring: 'none' } as const;
  expect(await day(user, clock, good)).not.toMatch(/Great progress/);
  await day(user, clock, good);
  expect(await day(user, clock, good)).toMatch(/Great progress: 3 good sessions in a row/);
  const setback = await day(user, clock, { pain: 8, difficulty: 'about_right', painDuring: 'moderate' });
  expect(setback).toMatch(/Today I’m making things easier: pain 8 today/);
}
