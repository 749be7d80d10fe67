import { stringify } from 'csv-stringify/sync';
import { deskText, parseDeskCommand } from '../coach/commands.ts';
import { attentionOf, digestLine, summaryText, weeklySummary } from '../coach/summary.ts';
import { type Content, ladderOf, render } from '../content/content.ts';
import type { LadderId, Locale } from '../content/schema.ts';
import type { OutboundMessage } from '../engine/events.ts';
import type { PatientState } from '../engine/state.ts';
import { addDays, localDate, mondayOf } from '../time/local.ts';
import type { CoachRuntime } from './coach-runtime.ts';
import type { CoachStore, RosterEntry } from './coaches.ts';
import type { PatientStore } from './store.ts';

export interface DeskPorts {
  /** A reply to the coach in their own chat, through the outbox; `key` makes it once-only. */
  reply(coachId: string, key: string, messages: OutboundMessage[]): Promise<void>;
  sendFiles(recipient: string, files: { filename: string; content: string }[]): Promise<void>;
  /** A link that joins the roster in one tap, where the platform has one (Telegram). */
  inviteLink(coachId: string, code: string): string | undefined;
}

/** The roster's patients who still exist; those who deleted their data leave it. */
export async function rosterStates(
  coaches: CoachStore,
  store: PatientStore,
  coachId: string,
): Promise<{ entry: RosterEntry; state: PatientState }[]> {
  const roster = await coaches.roster(coachId);
  const states = await Promise.all(roster.map((e) => store.load(e.patientId)));
  await coaches.remove(
    coachId,
    roster.filter((_, i) => states[i] === null),
  );
  return roster.flatMap((entry, i) => {
    const state = states[i];
    return state ? [{ entry, state }] : [];
  });
}

/**
 * The coach's side of the chat: `/coach …` from a configured coach. Every patient is addressed by
 * their number on this coach's own roster, so a coach can neither see nor act on anyone else's.
 */
export class CoachDesk {
  constructor(
    private readonly coaches: CoachStore,
    private readonly store: PatientStore,
    private readonly runtime: CoachRuntime,
    private readonly content: Content,
    private readonly locale: Locale,
    private readonly ports: DeskPorts,
    private readonly clock: () => number,
  ) {}

  private t(key: string, params: Record<string, string | number> = {}) {
    return render(this.content, this.locale, key, params);
  }

  /** Handles a desk command; false when the text is none or the sender is no coach. */
  async handle(senderId: string, text: string, eventId: string): Promise<boolean> {
    const rest = deskText(text);
    if (rest === undefined || !this.coaches.isCoach(senderId)) return false;
    const coachId = senderId;
    const say = (reply: string) => this.ports.reply(coachId, `desk|${eventId}`, [{ text: reply }]);
    const command = parseDeskCommand(rest);
    switch (command.kind) {
      case 'help':
        await say(this.t('desk.help'));
        return true;
      case 'invalid':
        await say(this.t('desk.invalid'));
        return true;
      case 'code': {
        const code = (await this.coaches.codeOf(coachId)) ?? '';
        const link = this.ports.inviteLink(coachId, code);
        await say(link ? this.t('desk.code_link', { code, link }) : this.t('desk.code_typed', { code }));
        return true;
      }
      case 'patients': {
        const roster = await this.present(coachId);
        await say(
          roster.length === 0
            ? this.t('desk.no_patients')
            : [this.t('desk.patients'), ...roster.map(({ entry, state }) => this.line(entry, state))].join(
                '\n',
              ),
        );
        return true;
      }
      case 'export': {
        const roster = await this.present(coachId);
        const rows = roster.flatMap(({ entry, state }) =>
          state.days.map((d) => [
            `#${entry.label}`,
            d.date,
            d.pain ?? '',
            d.outcome ?? '',
            d.difficulty ?? '',
            d.painDuring ?? '',
            d.decision ?? '',
          ]),
        );
        const csv = stringify(rows, {
          header: true,
          columns: ['patient', 'date', 'pain', 'session', 'difficulty', 'pain_during', 'decision'],
        });
        const date = new Date(this.clock()).toISOString().slice(0, 10);
        await this.ports.sendFiles(coachId, [{ filename: `roster-${date}.csv`, content: csv }]);
        await say(this.t('desk.exported', { count: roster.length }));
        return true;
      }
      case 'week':
      case 'action': {
        const patientId = await this.coaches.patientOf(coachId, command.label);
        const state = patientId ? await this.store.load(patientId) : null;
        if (!patientId || !state) {
          await say(this.t('desk.unknown_patient', { label: command.label }));
          return true;
        }
        if (command.kind === 'week') {
          await say(this.week(command.label, state));
          return true;
        }
        await this.runtime.handle({
          id: `desk|${eventId}`,
          patientId,
          kind: 'coach',
          coachId,
          command: command.action,
        });
        await say(this.t('desk.done', { label: command.label, action: command.action.action }));
        return true;
      }
    }
  }

  private present(coachId: string) {
    return rosterStates(this.coaches, this.store, coachId);
  }

  private line(entry: RosterEntry, state: PatientState): string {
    return this.t('desk.patient_line', {
      label: entry.label,
      status: this.t(`desk.status.${state.status}`),
      heard: state.lastHeardOn ?? '–',
    });
  }

  /** This week so far in the patient's own calendar, or last week while this one has no check-in yet. */
  private week(label: number, state: PatientState): string {
    const today = localDate(this.clock(), state.schedule.timezone);
    const monday = mondayOf(today);
    const started = state.days.some((d) => d.date >= monday && d.pain !== undefined);
    const weekStart = started ? monday : addDays(monday, -7);
    const summary = weeklySummary(state, weekStart, started ? today : addDays(weekStart, 6));
    const ladderName = (id: string) => ladderOf(this.content, id as LadderId).name[this.locale];
    return [
      digestLine(this.content, this.locale, {
        label: `#${label}`,
        summary,
        attention: attentionOf(state, summary),
      }),
      summaryText(this.content, this.locale, summary, ladderName),
    ].join('\n\n');
  }
}
