import type { Content } from '../content/content.ts';
import type { Locale } from '../content/schema.ts';
import { settingsParams } from './questions.ts';
import { progressText, sessionText } from './render.ts';
import { newPatient, type PatientState } from './state.ts';
import { Turn } from './turn.ts';

/** What a patient's home screen shows, in their language, for a platform to lay out. */
export interface HomeSummary {
  title: string;
  /** Where they are: not set up yet, active, paused, on hold. */
  status: string;
  /** Today's session, or a line saying there is none yet. */
  today: string;
  /** Whether today's session has been pushed and is still open (offer /today). */
  todayOpen: boolean;
  /** Levels per ladder and this week's check-ins. */
  progress: string | undefined;
  settings: string | undefined;
  /** Which of pause and resume the patient can use now. */
  canPause: boolean;
  canResume: boolean;
  onboarded: boolean;
  labels: Record<'today' | 'checkin' | 'settings' | 'pause' | 'resume' | 'start', string>;
}

/** Pure: the patient's state seen from a home screen at `now`. A null state is someone new. */
export function homeSummary(
  state: PatientState | null,
  now: number,
  content: Content,
  locale: Locale,
): HomeSummary {
  const turn = state ? new Turn(structuredClone(state), now, content) : undefined;
  const t = (key: string, params = {}) =>
    turn ? turn.t(key, params) : new Turn(newPatient('home', locale, now), now, content).t(key, params);
  const labels = {
    today: t('menu.today'),
    checkin: t('menu.checkin'),
    settings: t('menu.settings'),
    pause: t('menu.pause'),
    resume: t('menu.resume'),
    start: t('home.start'),
  };
  const onboarded = state?.levels.deep_core !== undefined;
  if (!state || !turn || !onboarded || state.status === 'declined') {
    return {
      title: t('home.title'),
      status: t('home.not_ready'),
      today: t('home.no_session'),
      todayOpen: false,
      progress: undefined,
      settings: undefined,
      canPause: false,
      canResume: false,
      onboarded: false,
      labels,
    };
  }
  const day = turn.findDay();
  const status = ['escalated', 'clinician_hold', 'paused', 'stopped'].includes(state.status)
    ? t(`home.status_${state.status}`)
    : t('home.status_active', { drillTime: state.schedule.drillTime, timezone: state.schedule.timezone });
  return {
    title: t('home.title'),
    status,
    today: day?.session ? sessionText(turn, day.session) : t('home.no_session'),
    todayOpen: day?.session !== undefined && day.outcome === undefined,
    progress: progressText(turn),
    settings: t('home.settings', settingsParams(turn)),
    canPause: state.status === 'active',
    canResume: state.status === 'paused' && state.pausedBy !== 'coach',
    onboarded: true,
    labels,
  };
}
