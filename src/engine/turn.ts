import { type Content, ladderOf, type Params, render } from '../content/content.ts';
import { LADDER_IDS, type LadderId } from '../content/schema.ts';
import { localDate } from '../time/local.ts';
import type { AuditEntry, Choice, CoachAlert, Effect } from './events.ts';
import {
  type Ask,
  type DayRecord,
  type PatientState,
  pushesOf,
  type Question,
  type Reason,
} from './state.ts';

const isLadder = (v: unknown): v is LadderId =>
  typeof v === 'string' && (LADDER_IDS as readonly string[]).includes(v);

/**
 * One step's working set: a private copy of the state and the effects gathered so far. The step
 * mutates only its own copy, so `step` stays a pure function of its inputs.
 */
export class Turn {
  readonly effects: Effect[] = [];
  /** The question the current event answered; the first reply closes its message. */
  private answered: number | undefined;

  constructor(
    public state: PatientState,
    readonly now: number,
    readonly content: Content,
    /** Whether the platform told us the user's language; if not, onboarding asks. */
    readonly localeKnown = true,
  ) {}

  get today(): string {
    return localDate(this.now, this.state.schedule.timezone);
  }

  /** Renders copy in the patient's locale; a `ladder` parameter is shown as the ladder's name. */
  t(key: string, params: Params = {}): string {
    const named: Params = { ...params };
    if (isLadder(params.ladder)) named.ladder = ladderOf(this.content, params.ladder).name[this.state.locale];
    return render(this.content, this.state.locale, key, named);
  }

  reason(reason: Reason): string {
    return this.t(reason.key, reason.params);
  }

  markAnswered(seq: number): void {
    this.answered = seq;
  }

  say(text: string, choices?: Choice[][], seq?: number): void {
    const closes = this.answered;
    this.answered = undefined;
    this.effects.push({
      type: 'send',
      message: {
        text,
        ...(choices ? { choices } : {}),
        ...(seq !== undefined ? { seq } : {}),
        ...(closes !== undefined ? { closes } : {}),
      },
    });
  }

  /** Records the pending question; the caller sends the prompt (see questions.ts). */
  setAsk(q: Question, i: number, extra: Pick<Ask, 'after' | 'prev'> = {}): Ask {
    const seq = this.state.lastSeq + 1;
    const ask: Ask = { seq, q, i, ...extra };
    this.state.ask = ask;
    this.state.lastSeq = seq;
    return ask;
  }

  alert(alert: CoachAlert, reason: Reason): void {
    this.effects.push({ type: 'alert_coach', alert, reason });
  }

  /**
   * Audit entries are timed to the second: enough to order and date what happened, and the
   * milliseconds would be most of what a patient's stored audit log costs (record-codec.ts).
   */
  audit(kind: AuditEntry['kind'], detail: Record<string, unknown>): void {
    this.effects.push({ type: 'audit', entry: { at: this.now - (this.now % 1000), kind, detail } });
  }

  /** Pushes follow the status: on while active, removed otherwise. */
  syncSchedule(): void {
    this.effects.push({
      type: 'schedule',
      schedule: pushesOf(this.state),
    });
  }

  /** Today's record, created on first use and kept in date order. */
  day(date = this.today): DayRecord {
    let record = this.state.days.find((d) => d.date === date);
    if (!record) {
      record = { date };
      this.state.days.push(record);
      this.state.days.sort((a, b) => a.date.localeCompare(b.date));
    }
    return record;
  }

  findDay(date = this.today): DayRecord | undefined {
    return this.state.days.find((d) => d.date === date);
  }
}
