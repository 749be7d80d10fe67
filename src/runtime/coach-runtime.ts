import type { Logger } from 'pino';
import { type Content, render } from '../content/content.ts';
import type { CoachAlert, Effect, InboundEvent, OutboundMessage, Timer } from '../engine/events.ts';
import { inboundEventSchema } from '../engine/events.ts';
import { type PatientState, pushesOf, type Reason, type Schedule } from '../engine/state.ts';
import { step } from '../engine/step.ts';
import type { PatientExport, PatientStore } from './store.ts';

/** What the shell does with the engine's effects; each platform or test supplies its own. */
export interface EffectPorts {
  /**
   * All the messages of one step, in order. `key` is unique per step and stable across retries:
   * an idempotency key.
   */
  send(patientId: string, messages: OutboundMessage[], key: string): Promise<void>;
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
  schedule(patientId: string, schedule: Schedule | null): Promise<void>;
  wakeAt(patientId: string, at: number, timer: Timer): Promise<void>;
  deliverExport(patientId: string, data: PatientExport): Promise<void>;
  /**
   * After the store deleted the patient's keys: clear what lives elsewhere (queued and kept
   * messages, roster entries). `keep` is the idempotency key of this step's own messages.
   */
  forget?(patientId: string, keep: string | undefined): Promise<void>;
  /** After a step that changed the patient (a platform's home screen follows their state). */
  stepped?(patientId: string, state: PatientState | null): Promise<void>;
}

/** A replayed schedule effect may be older than the patient's current schedule: sync to the state. */
function syncedToState(effects: readonly Effect[], state: PatientState | null): Effect[] {
  return effects.map((e) => (e.type === 'schedule' ? { ...e, schedule: pushesOf(state) } : e));
}

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

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
    /** Told of every event stepped (for metrics). */
    private readonly observe?: (kind: InboundEvent['kind'], duplicate: boolean) => void,
  ) {}

  async handle(
    input: unknown,
  ): Promise<{ duplicate: boolean; state: PatientState | null; effects: readonly Effect[] }> {
    const parsed = inboundEventSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidEventError(`invalid event at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    }
    const event: InboundEvent = parsed.data;
    const now = this.clock();
    const result = await this.store.apply(event, (state) => step(state, event, now, this.content), now);
    this.log.debug(
      { eventId: event.id, patientId: event.patientId, kind: event.kind, duplicate: result.duplicate },
      'event',
    );
    this.observe?.(event.kind, result.duplicate);
    const after = result.state;
    const effects = result.duplicate ? syncedToState(result.effects, after) : result.effects;
    await this.performAll(event, effects, after);
    if (!result.duplicate && this.ports.stepped) {
      // Cosmetic and already committed: a failure is reported, and the step stands.
      await this.ports.stepped(event.patientId, result.state).catch((error: unknown) => {
        this.log.error(
          { err: error, eventId: event.id, patientId: event.patientId },
          'after-step hook failed',
        );
      });
    }
    return { duplicate: result.duplicate, state: result.state, effects };
  }

  /**
   * Performs the effects of an event committed earlier and never confirmed (see the pending-effects
   * sweep), as a redelivery of that event would. False when there is nothing left to perform.
   */
  async replay(patientId: string, eventId: string): Promise<boolean> {
    const pending = await this.store.pendingEffects(patientId, eventId);
    if (pending === null) return false;
    const state = await this.store.load(patientId);
    await this.performAll({ id: eventId, patientId }, syncedToState(pending, state), state);
    return true;
  }

  /**
   * A step's effects in order, each with an idempotency key from the event id and its position, so
   * performing them again (a redelivery, a replay) repeats nothing that already happened.
   */
  private async performAll(
    event: { id: string; patientId: string },
    effects: readonly Effect[],
    after: PatientState | null,
  ): Promise<void> {
    const messages = effects.flatMap((e) => (e.type === 'send' ? [e.message] : []));
    const firstSend = effects.findIndex((e) => e.type === 'send');
    const sendKey = firstSend >= 0 ? `${event.id}#${firstSend}` : undefined;
    for (const [index, effect] of effects.entries()) {
      // A step's messages go out together, where its first message stood among the effects.
      if (effect.type === 'send' && index !== firstSend) continue;
      try {
        if (effect.type === 'send') await this.ports.send(event.patientId, messages, `${event.id}#${index}`);
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
    if (effects.some((e) => e.type === 'delete')) await this.ports.forget?.(event.patientId, sendKey);
    // Until here a crash leaves the effects pending in the store; a redelivery or the sweep replays
    // them, and the idempotency keys make the replay a no-op where they already happened.
    if (effects.length > 0 && after !== null) await this.store.settle(event.patientId, event.id);
  }

  private async perform(
    patientId: string,
    effect: Exclude<Effect, { type: 'send' }>,
    state: PatientState | null,
    key: string,
  ) {
    switch (effect.type) {
      case 'alert_coach':
        return this.ports.alertCoach(
          {
            patientId,
            coachCode: state?.coachCode ?? null,
            alert: effect.alert,
            text: this.renderReason(state, effect.reason),
          },
          key,
        );
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
