import type { HomeView, KnownBlock } from '@slack/types';
import type { Content } from '../../src/content/content.ts';
import type { Locale } from '../../src/content/schema.ts';
import { type HomeSummary, homeSummary } from '../../src/engine/home.ts';
import type { PatientState } from '../../src/engine/state.ts';
import { escapeMrkdwn } from './blocks.ts';

/** Home buttons run the command in their value, as if typed in the DM. */
export const HOME_ACTION = /^home:/;

const section = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: escapeMrkdwn(text).slice(0, 3000) },
});

function commandButton(command: string, label: string) {
  return {
    type: 'button' as const,
    action_id: `home:${command}`,
    text: { type: 'plain_text' as const, text: label.slice(0, 75) },
    value: command,
  };
}

/** App Home: status, today's session, levels and the week, settings, and pause or resume. */
export function homeView(home: HomeSummary): HomeView {
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: home.title.slice(0, 150) } },
    section(home.status),
  ];
  if (!home.onboarded) {
    blocks.push({ type: 'actions', elements: [commandButton('start', home.labels.start)] });
    return { type: 'home', blocks };
  }
  blocks.push({ type: 'divider' }, section(home.today));
  blocks.push({
    type: 'actions',
    elements: [commandButton('today', home.labels.today), commandButton('checkin', home.labels.checkin)],
  });
  if (home.progress) blocks.push({ type: 'divider' }, section(home.progress));
  if (home.settings) blocks.push({ type: 'divider' }, section(home.settings));
  const controls = [commandButton('settings', home.labels.settings)];
  if (home.canPause) controls.push(commandButton('pause', home.labels.pause));
  if (home.canResume) controls.push(commandButton('resume', home.labels.resume));
  blocks.push({ type: 'actions', elements: controls });
  return { type: 'home', blocks };
}

/** The Home tab of a patient (null: someone new), in their language or else the default. */
export function homeViewOf(
  state: PatientState | null,
  now: number,
  content: Content,
  defaultLocale: Locale,
): HomeView {
  return homeView(homeSummary(state, now, content, state?.locale ?? defaultLocale));
}
