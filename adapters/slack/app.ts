import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';
import type { InstallationStore } from '@slack/oauth';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { deskText } from '../../src/coach/commands.ts';
import { type Content, render } from '../../src/content/content.ts';
import type { Locale } from '../../src/content/schema.ts';
import type { CoachRuntime } from '../../src/runtime/coach-runtime.ts';
import type { QuestionMessages } from '../../src/runtime/question-messages.ts';
import type { PatientStore } from '../../src/runtime/store.ts';
import { boltLogger } from './bolt-logger.ts';
import { dmEvent, type Hints, localeOf, parseSlashCommand, patientIdOf, tapEvent } from './events.ts';
import { HOME_ACTION, homeViewOf } from './home.ts';
import type { SlackSender } from './sender.ts';
import type { TeamStore } from './team-store.ts';

export interface SlackAppOptions {
  /** HTTP mode: Bolt checks every request's signature with this secret. */
  signingSecret?: string;
  /** Socket Mode: the app-level token (xapp-…); no public URL needed. */
  appToken?: string;
  /** One workspace: its bot token. Several: OAuth installs kept in `installationStore`. */
  botToken?: string;
  oauth?: {
    clientId: string;
    clientSecret: string;
    stateSecret: string;
    installationStore: InstallationStore;
  };
  apiUrl?: string;
  port: number;
  runtime: CoachRuntime;
  store: PatientStore;
  sender: SlackSender;
  questions: QuestionMessages;
  teams: TeamStore;
  content: Content;
  defaultLocale: Locale;
  log: Logger;
  /** The service's clock, so the home screen's "today" is the engine's. */
  clock?: () => number;
  /** The coaches' desk: `coach …` from a coach. */
  desk?: {
    isCoach(senderId: string): boolean;
    /** True when the text was a desk command and has been handled. */
    handle(senderId: string, text: string, eventId: string): Promise<boolean>;
  };
}

export interface RunningSlackApp {
  /** The HTTP port (HTTP mode). */
  port?: number;
  stop(): Promise<void>;
}

/** What the app asks a workspace for; `manifest.yaml` lists the same. */
export const SLACK_SCOPES = [
  'chat:write',
  'im:history',
  'im:write',
  'users:read',
  'commands',
  'channels:read',
  'files:write',
] as const;
/** The events it subscribes to, and the one slash command. */
export const SLACK_EVENTS = ['message.im', 'app_home_opened', 'user_change'] as const;
export const SLASH_COMMAND = '/backcoach';

type Loose = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const loose = (v: unknown): Loose => (v ?? {}) as Loose;

/**
 * The Slack side: DMs, button taps, the slash command and App Home become engine events; replies
 * go through the outbox. Every request is acknowledged first and handled after, inside Slack's
 * three seconds; a redelivered event carries the same event id and is stepped once.
 */
export async function startSlackApp(opts: SlackAppOptions): Promise<RunningSlackApp> {
  const { runtime, store, sender, questions, teams, content, log } = opts;
  const clientOptions = opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {};
  const auth = opts.oauth
    ? {
        clientId: opts.oauth.clientId,
        clientSecret: opts.oauth.clientSecret,
        stateSecret: opts.oauth.stateSecret,
        installationStore: opts.oauth.installationStore,
        scopes: [...SLACK_SCOPES],
      }
    : { token: opts.botToken };
  const boltLog = boltLogger(log);
  const receiver = opts.appToken
    ? undefined
    : new HTTPReceiver({
        signingSecret: opts.signingSecret ?? '',
        logger: boltLog,
        ...(opts.oauth ? { ...auth, installerOptions: { directInstall: true } } : {}),
      });
  const app = receiver
    ? new App({ ...auth, clientOptions, logger: boltLog, receiver })
    : new App({
        ...auth,
        appToken: opts.appToken,
        socketMode: true,
        clientOptions,
        logger: boltLog,
      });

  /** The person's language and zone from their profile, asked only at first contact. */
  async function hintsFor(teamId: string, userId: string, client: WebClient): Promise<Hints> {
    if ((await store.load(patientIdOf(teamId, userId))) !== null) return {};
    try {
      const info = await client.users.info({ user: userId, include_locale: true });
      const localeHint = localeOf(info.user?.locale);
      return {
        ...(localeHint ? { localeHint } : {}),
        ...(info.user?.tz ? { tzHint: info.user.tz } : {}),
      };
    } catch (error) {
      log.warn({ err: error, teamId }, 'users.info failed; onboarding will ask');
      return {};
    }
  }

  async function refreshHome(patientId: string): Promise<void> {
    const state = await store.load(patientId);
    const now = (opts.clock ?? Date.now)();
    await sender.publishHome(patientId, homeViewOf(state, now, content, opts.defaultLocale));
  }

  app.event('message', async ({ event, body }) => {
    const e = loose(event);
    if (e.channel_type !== 'im' || e.subtype !== undefined || e.bot_id !== undefined) return;
    const teamId = str(loose(body).team_id);
    const userId = str(e.user);
    if (!teamId || !userId) return;
    const eventId = `sl|${str(loose(body).event_id)}`;
    if (opts.desk && (await opts.desk.handle(patientIdOf(teamId, userId), str(e.text), eventId))) return;
    const client = await sender.client(teamId);
    const hints = await hintsFor(teamId, userId, client);
    await runtime.handle(dmEvent(str(loose(body).event_id), teamId, userId, str(e.text), hints));
  });

  app.event('user_change', async ({ event, body }) => {
    const user = loose(event).user as Loose | undefined;
    const teamId = str(loose(body).team_id);
    const tz = str(user?.tz);
    if (!user || !teamId || !tz) return;
    await runtime.handle({
      id: `sl|${str(loose(body).event_id)}`,
      patientId: patientIdOf(teamId, str(user.id)),
      kind: 'profile',
      timezone: tz,
    });
  });

  app.event('app_home_opened', async ({ event, body }) => {
    const e = loose(event);
    if (e.tab !== 'home') return;
    await refreshHome(patientIdOf(str(loose(body).team_id), str(e.user)));
  });

  app.action(/^bc:/, async ({ ack, body, action }) => {
    await ack();
    const b = loose(body);
    const a = loose(action);
    const teamId = str((b.team as Loose | undefined)?.id);
    const userId = str((b.user as Loose | undefined)?.id);
    const container = (b.container ?? {}) as Loose;
    const message = (b.message ?? {}) as Loose;
    const messageTs = str(container.message_ts) || str(message.ts);
    const event = tapEvent(teamId, userId, messageTs, str(a.action_ts), a.value);
    if (event?.kind !== 'choice' || !messageTs) return;
    // A patient's buttons live in their own DM with the app: a tap anywhere else (someone else's
    // message, a forwarded or replayed payload) is not theirs to act on.
    if (str(container.channel_id) !== (await sender.dmChannel(event.patientId))) {
      log.warn({ patientId: event.patientId }, 'tap outside the patient’s own DM ignored');
      return;
    }
    await questions.forget(event.patientId, event.seq, messageTs);
    const result = await runtime.handle(event);
    if (result.duplicate || result.state?.ask?.seq === event.seq) return;
    const answered = result.effects.some((e) => e.type === 'send' && e.message.closes === event.seq);
    const label = str(((a.text ?? {}) as Loose).text);
    const text = str(message.text);
    const closed = await sender.closeMessage(
      event.patientId,
      messageTs,
      text,
      answered && label ? label : undefined,
    );
    if (!closed.ok) log.warn({ patientId: event.patientId }, 'tapped Slack message not closed');
  });

  app.action(HOME_ACTION, async ({ ack, body, action }) => {
    await ack();
    const b = loose(body);
    const teamId = str((b.team as Loose | undefined)?.id);
    const userId = str((b.user as Loose | undefined)?.id);
    const command = str(loose(action).value);
    const actionTs = str(loose(action).action_ts);
    if (!teamId || !userId) return;
    await runtime.handle({
      id: `sl|h|${userId}|${actionTs}`,
      patientId: patientIdOf(teamId, userId),
      kind: 'command',
      command,
      args: '',
    });
  });

  app.command(SLASH_COMMAND, async ({ ack, command, client }) => {
    const teamId = command.team_id;
    const userId = command.user_id;
    const patientId = patientIdOf(teamId, userId);
    const state = await store.load(patientId);
    const locale = state?.locale ?? opts.defaultLocale;
    const t = (key: string, params: Record<string, string | number> = {}) =>
      render(content, locale, key, params);
    if (opts.desk?.isCoach(patientId) && deskText(command.text ?? '') !== undefined) {
      // Acknowledged first: the desk may take longer than Slack's three seconds (an export).
      await ack({ response_type: 'ephemeral', text: t('slack.answered_in_dm') });
      await opts.desk.handle(patientId, command.text ?? '', `sl|c|${command.trigger_id}`);
      return;
    }
    const parsed = parseSlashCommand(command.text ?? '');
    switch (parsed.kind) {
      case 'engine': {
        await ack({ response_type: 'ephemeral', text: t('slack.answered_in_dm') });
        const hints = await hintsFor(teamId, userId, client);
        await runtime.handle({
          id: `sl|c|${command.trigger_id}`,
          patientId,
          ...hints,
          kind: 'command',
          command: parsed.command,
          args: parsed.args,
        });
        return;
      }
      case 'join': {
        const team = await teams.get(teamId, parsed.team);
        if (!team)
          return ack({ response_type: 'ephemeral', text: t('team.not_found', { team: parsed.team }) });
        if (!state || state.status === 'new' || state.status === 'declined')
          return ack({ response_type: 'ephemeral', text: t('team.needs_consent') });
        await teams.join(patientId, team);
        return ack({ response_type: 'ephemeral', text: t('team.joined', { team: team.name }) });
      }
      case 'leave': {
        const left = await teams.leave(patientId);
        return ack({
          response_type: 'ephemeral',
          text: left ? t('team.left', { team: left }) : t('team.not_member'),
        });
      }
      case 'team_create': {
        const info = (await client.users.info({ user: userId })) as {
          user?: { is_admin?: boolean; is_owner?: boolean };
        };
        if (!info.user?.is_admin && !info.user?.is_owner)
          return ack({ response_type: 'ephemeral', text: t('team.admin_only') });
        await teams.create({
          workspace: teamId,
          name: parsed.team,
          channel: command.channel_id,
          createdBy: userId,
          createdAt: Date.now(),
        });
        return ack({ response_type: 'in_channel', text: t('team.created', { team: parsed.team }) });
      }
      case 'unknown':
        return ack({ response_type: 'ephemeral', text: t('slack.unknown_command') });
    }
  });

  app.error(async (error) => {
    log.error({ err: error }, 'slack request failed');
  });

  const started = (await app.start(opts.port)) as unknown;
  const server =
    receiver && started && typeof (started as Server).address === 'function'
      ? (started as Server)
      : undefined;
  const port = server ? (server.address() as AddressInfo).port : undefined;
  log.info({ port, socketMode: Boolean(opts.appToken) }, 'slack: receiving');
  return {
    ...(port !== undefined ? { port } : {}),
    stop: async () => {
      await app.stop();
    },
  };
}
