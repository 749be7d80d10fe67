import type { Logger } from 'pino';
import { type Content, render } from '../content/content.ts';
import type { CoachAlert, Effect, InboundEvent, OutboundMessage, Timer } from '../engine/events.ts';
import { inboundEventSchema } from '../engine/events.ts';
import { type PatientState, pushesOf, type Reason, type Schedule } from '../engine/state.ts';
import { step } from '../engine/step.ts';
import {
  type ApplyResult,
  type PatientExport,
  type PatientStore,
  type PlanMany,
  planSafely,
} from './store.ts';

/** The store reads a state afresh for each step (`Step`): the engine may change it in place. */
const OWNED = { owned: true };

/** What the shell does with the engine's effects; each platform or test supplies its own. */
export interface EffectPorts {
  /**
   * All the messages of one step, in order. `key` is unique per step and stable across retries:
   * an idempotency key. `fresh`: the step was just committed and this is the first time its effects
   * are performed, so nothing can have used the key yet (it comes from an event id the store had
   * never processed); a redelivery or a replay is not fresh.
   */
  send(patientId: string, messages: OutboundMessage[], key: string, fresh: boolean): Promise<void>;
  /**
   * As `send`, but straight to the platform where it can, falling back to `send`: for pushes, whose
   * throughput is the point, rather than replies, which the platform's webhook is waiting on.
   */
  sendNow?(patientId: string, messages: OutboundMessage[], key: string, fresh: boolean): Promise<void>;
  /** `key`: an idempotency key, as for send. */
  alertCoach(
    alert: {
      patientId: string;
      coachCode: string | null;
      alert: CoachAlert;
      text: string;
    },
    key: string,
  ): Promise<void>;
  /** The patient used a coach's invite code: put them on that coach's roster (once). */
  joinCoach(patientId: string, code: string): Promise<void>;
  schedule(patientId: string, schedule: Schedule | null): Promise<void>;
  wakeAt(patientId: string, at: number, timer: Timer): Promise<void>;
  deliverExport(patientId: string, data: PatientExport): Promise<void>;
  /**
   * After the store deleted the patient's keys: clear what lives elsewhere (queued and kept
   * messages, roster entries). `keep` is the idempotency key of this step's own messages.
   */
  forget?(patientId: string, keep: string | undefined): Promise<void>;
  /**
   * After a step that changed the patient (a platform's home screen follows their state). `state`
   * reads the new state: a fan-out's steps are planned on another thread, which leaves it in the
   * record, so only a hook that needs it pays for reading it.
   */
  stepped?(patientId: string, state: () => PatientState | null): Promise<void>;
}

/** A replayed schedule effect may be older than the patient's current schedule: sync to the state. */
function syncedToState(effects: readonly Effect[], state: PatientState | null): Effect[] {
  return effects.map((e) => (e.type === 'schedule' ? { ...e, schedule: pushesOf(state) } : e));
}

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

function parseEvent(input: unknown): InboundEvent {
  const parsed = inboundEventSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventError(`invalid event at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

export interface Handled {
  duplicate: boolean;
  state: PatientState | null;
  effects: readonly Effect[];
}

/** Marks an event's effects performed (`PatientStore.settle`, or a batch's collector). */
type Settle = (patientId: string, eventId: string) => Promise<void>;

/** How a step's messages leave: through the outbox queue, or straight out with the queue behind. */
type Sending = 'queue' | 'now';

/**
 * The imperative shell around the engine: validates an event, runs one atomic step against the
 * store, then performs the effects. Effects run only after the commit, so a failed write sends
 * nothing; a failed effect is logged with ids and re-thrown, never swallowed.
 */
export class CoachRuntime {
  constructor(
    private readonly store: PatientStore,
    private readonly content: Content,
    private readonly ports: EffectPorts,
    private readonly clock: () => number,
    private readonly log: Logger,
    private readonly opts: {
      /** Told of every event stepped (for metrics). */
      observe?: (kind: InboundEvent['kind'], duplicate: boolean) => void;
      /** Where `handleMany` plans its steps (a `StepPool`); on this thread without it. */
      planMany?: PlanMany;
    } = {},
  ) {}

  async handle(input: unknown): Promise<Handled> {
    const event = parseEvent(input);
    const now = this.clock();
    const result = await this.store.apply(
      event,
      (state) => step(state, event, now, this.content, OWNED),
      now,
    );
    return this.conclude(event, result, 'queue');
  }

  /**
   * `handle` for many events at once (a fan-out of timers): one store transaction for the first
   * event of each patient, any later ones after it, one by one. Messages go straight to the platform
   * (`sendNow`) where the shell can. Results are in the order of `inputs`; one failing fails no other.
   */
  async handleMany(inputs: readonly unknown[]): Promise<PromiseSettledResult<Handled>[]> {
    const results: PromiseSettledResult<Handled>[] = new Array(inputs.length);
    const firsts: { index: number; event: InboundEvent }[] = [];
    const later: { index: number; event: InboundEvent }[] = [];
    const patients = new Set<string>();
    for (const [index, input] of inputs.entries()) {
      try {
        const event = parseEvent(input);
        (patients.has(event.patientId) ? later : firsts).push({ index, event });
        patients.add(event.patientId);
      } catch (error) {
        results[index] = { status: 'rejected', reason: error };
      }
    }
    const now = this.clock();
    const applied = await this.store.applyMany(
      firsts.map(({ event }) => ({ event, step: (state) => step(state, event, now, this.content, OWNED) })),
      now,
      this.opts.planMany && this.plannedElsewhere(this.opts.planMany),
    );
    // The batch's performed events are settled together, one round trip for all.
    const performed: { patientId: string; eventId: string }[] = [];
    const settle = async (patientId: string, eventId: string) => {
      performed.push({ patientId, eventId });
    };
    const concluded = await Promise.allSettled(
      firsts.map(({ event }, i) => {
        const result = applied[i] as PromiseSettledResult<ApplyResult>;
        return result.status === 'fulfilled'
          ? this.conclude(event, result.value, 'now', settle)
          : Promise.reject(result.reason);
      }),
    );
    await this.store.settleMany(performed);
    for (const [i, { index }] of firsts.entries())
      results[index] = concluded[i] as PromiseSettledResult<Handled>;
    for (const { index, event } of later) {
      results[index] = await this.handle(event).then(
        (value) => ({ status: 'fulfilled', value }) as const,
        (reason: unknown) => ({ status: 'rejected', reason }) as const,
      );
    }
    return results;
  }

  private readonly settle: Settle = (patientId, eventId) => this.store.settle(patientId, eventId);

  /** `planMany`, or on this thread when it fails (a thread that died): the fan-out goes on. */
  private plannedElsewhere(planMany: PlanMany): PlanMany {
    return (inputs) =>
      planMany(inputs).catch((error: unknown) => {
        this.log.error(
          { err: error, events: inputs.length },
          'planning steps elsewhere failed; planned here',
        );
        return inputs.map((input) =>
          planSafely(input, (state) => step(state, input.event, input.now, this.content, OWNED)),
        );
      });
  }

  /** After the commit: the effects, then the after-step hook. */
  private async conclude(
    event: InboundEvent,
    result: ApplyResult,
    sending: Sending,
    settle: Settle = this.settle,
  ): Promise<Handled> {
    this.log.debug(
      { eventId: event.id, patientId: event.patientId, kind: event.kind, duplicate: result.duplicate },
      'event',
    );
    this.opts.observe?.(event.kind, result.duplicate);
    // Read when needed only (see `stepped`).
    const after = () => result.state;
    const effects = result.duplicate ? syncedToState(result.effects, after()) : result.effects;
    await this.performAll(event, effects, after, { sending, fresh: !result.duplicate, settle });
    if (!result.duplicate && this.ports.stepped) {
      // Cosmetic and already committed: a failure is reported, and the step stands.
      await this.ports.stepped(event.patientId, after).catch((error: unknown) => {
        this.log.error(
          { err: error, eventId: event.id, patientId: event.patientId },
          'after-step hook failed',
        );
      });
    }
    return {
      duplicate: result.duplicate,
      get state() {
        return result.state;
      },
      effects,
    };
  }

  /**
   * Performs the effects of an event committed earlier and never confirmed (see the pending-effects
   * sweep), as a redelivery of that event would. False when there is nothing left to perform.
   */
  async replay(patientId: string, eventId: string): Promise<boolean> {
    const pending = await this.store.pendingEffects(patientId, eventId);
    if (pending === null) return false;
    const state = await this.store.load(patientId);
    await this.performAll({ id: eventId, patientId }, syncedToState(pending, state), () => state, {
      sending: 'queue',
      fresh: false,
      settle: this.settle,
    });
    return true;
  }

  /**
   * A step's effects in order, each with an idempotency key from the event id and its position, so
   * performing them again (a redelivery, a replay) repeats nothing that already happened.
   */
  private async performAll(
    event: { id: string; patientId: string },
    effects: readonly Effect[],
    after: () => PatientState | null,
    { sending, fresh, settle }: { sending: Sending; fresh: boolean; settle: Settle },
  ): Promise<void> {
    const send = (sending === 'now' && this.ports.sendNow) || this.ports.send;
    const messages = effects.flatMap((e) => (e.type === 'send' ? [e.message] : []));
    const firstSend = effects.findIndex((e) => e.type === 'send');
    const sendKey = firstSend >= 0 ? `${event.id}#${firstSend}` : undefined;
    for (const [index, effect] of effects.entries()) {
      // A step's messages go out together, where its first message stood among the effects.
      if (effect.type === 'send' && index !== firstSend) continue;
      try {
        if (effect.type === 'send') await send(event.patientId, messages, `${event.id}#${index}`, fresh);
        else await this.perform(event.patientId, effect, after, `${event.id}#${index}`);
      } catch (error) {
        this.log.error(
          { err: error, eventId: event.id, patientId: event.patientId, effect: effect.type },
          'effect failed',
        );
        throw error;
      }
    }
    // Last, once the goodbye is queued: what lives outside the patient's keys goes too.
    const deleted = effects.some((e) => e.type === 'delete');
    if (deleted) await this.ports.forget?.(event.patientId, sendKey);
    // Until here a crash leaves the effects pending in the store; a redelivery or the sweep replays
    // them, and the idempotency keys make the replay a no-op where they already happened. A deletion
    // took the pending entries with every other key.
    if (effects.length > 0 && !deleted) await settle(event.patientId, event.id);
  }

  private async perform(
    patientId: string,
    effect: Exclude<Effect, { type: 'send' }>,
    after: () => PatientState | null,
    key: string,
  ) {
    switch (effect.type) {
      case 'alert_coach': {
        const state = after();
        return this.ports.alertCoach(
          {
            patientId,
            coachCode: state?.coachCode ?? null,
            alert: effect.alert,
            text: this.renderReason(state, effect.reason),
          },
          key,
        );
      }
      case 'join_coach':
        return this.ports.joinCoach(patientId, effect.code);
      case 'schedule':
        return this.ports.schedule(patientId, effect.schedule);
      case 'wake_at':
        return this.ports.wakeAt(patientId, effect.at, effect.timer);
      case 'export': {
        const data = await this.store.exportPatient(patientId);
        if (data) await this.ports.deliverExport(patientId, data);
        return;
      }
      case 'delete':
      case 'audit':
        return; // committed by the store in the step's transaction
    }
  }

  private renderReason(state: PatientState | null, reason: Reason): string {
    return render(this.content, state?.locale ?? 'en', reason.key, reason.params);
  }
}
