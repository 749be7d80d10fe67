import type { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import type { AuditEntry, Effect, InboundEvent, StepResult } from '../../src/engine/events.ts';
import { type DayRecord, newPatient, type PatientState } from '../../src/engine/state.ts';
import { keysOf, PatientStore, SEEN_LIMIT, SEEN_WINDOW_MS } from '../../src/runtime/store.ts';
import { useRedis } from '../support/redis.ts';

const fixture = useRedis();
const NOW = Date.UTC(2024, 0, 1);
const PATIENT = 'tg:1001';

type Step = (state: PatientState | null) => StepResult<PatientState | null>;

const textEvent = (id: string, patientId = PATIENT): InboundEvent => ({
  id,
  patientId,
  kind: 'text',
  text: 'hi',
});

const orNew = (state: PatientState | null, patientId = PATIENT) => state ?? newPatient(patientId, 'en', NOW);

function addDay(day: DayRecord, effects: Effect[] = [], patientId = PATIENT): Step {
  return (state) => {
    const current = orNew(state, patientId);
    return { state: { ...current, days: [...current.days, day] }, effects };
  };
}

const answerStartBack: Step = (state) => {
  const current = orNew(state);
  const profile = { ...current.profile, startBack: [...current.profile.startBack, 1] };
  return { state: { ...current, profile }, effects: [] };
};

const audit = (kind: AuditEntry['kind'], detail: Record<string, unknown>): Effect => ({
  type: 'audit',
  entry: { at: NOW, kind, detail },
});

/** Every key under the prefix; the pattern covers the `{patient}` hash tag. */
async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found.sort();
}

/** Lets `interfere` run after the WATCHed reads and before EXEC: a deterministic race. */
function interfereBeforeExec(client: Redis, interfere: () => Promise<void>): void {
  const multi = client.multi.bind(client) as () => ReturnType<Redis['multi']>;
  client.multi = (() => {
    const tx = multi();
    const exec = tx.exec.bind(tx);
    tx.exec = (async () => {
      await interfere();
      return exec();
    }) as typeof tx.exec;
    return tx;
  }) as unknown as Redis['multi'];
}

/** A connection whose first EXEC comes after another store wrote 2024-03-01 for `patientId`. */
function racedOnce(patientId = PATIENT) {
  const prefix = fixture.prefix();
  const racer = fixture.connect();
  const other = new PatientStore(fixture.connect(), { prefix });
  let interfered = false;
  interfereBeforeExec(racer, async () => {
    if (interfered) return;
    interfered = true;
    await other.apply(textEvent('other', patientId), addDay({ date: '2024-03-01' }, [], patientId), NOW);
  });
  return { prefix, racer, other };
}

const dates = (count: number) =>
  Array.from({ length: count }, (_, i) => `2024-02-${String(i + 1).padStart(2, '0')}`);

describe('PatientStore keys', () => {
  it('puts every key of a patient under one hash tag', () => {
    expect(keysOf('tg:1', 'bc:')).toEqual({
      state: 'bc:{tg:1}:state',
      seen: 'bc:{tg:1}:seen',
      audit: 'bc:{tg:1}:audit',
      pending: 'bc:{tg:1}:pending',
      platform: 'bc:{tg:1}:platform',
    });
  });

  it.each(['a{b', 'a}b', 'a b', 'a\tb', ''])('rejects the patient id %j', (patientId) => {
    expect(() => keysOf(patientId)).toThrow(/Invalid patient id/);
  });
});

describe('PatientStore', () => {
  it('loads null for a patient it has never seen', async () => {
    const store = new PatientStore(fixture.redis, { prefix: fixture.prefix() });
    expect(await store.load(PATIENT)).toBeNull();
  });

  it('loses no update when 20 connections apply to one patient at once', async () => {
    const prefix = fixture.prefix();
    const days = dates(20);
    const results = await Promise.all(
      days.map((date, i) =>
        new PatientStore(fixture.connect(), { prefix }).apply(textEvent(`e${i}`), addDay({ date }), NOW + i),
      ),
    );

    expect(results.every((result) => !result.duplicate)).toBe(true);
    const stored = await new PatientStore(fixture.redis, { prefix }).load(PATIENT);
    expect(stored?.days.map((day) => day.date).sort()).toEqual(days);
  });

  it('loses no update when 20 applies share one connection', async () => {
    const store = new PatientStore(fixture.connect(), { prefix: fixture.prefix() });
    const days = dates(20);
    await Promise.all(days.map((date, i) => store.apply(textEvent(`e${i}`), addDay({ date }), NOW)));

    expect((await store.load(PATIENT))?.days.map((day) => day.date).sort()).toEqual(days);
  });

  it('re-runs the step on the fresh state when another writer commits between read and EXEC', async () => {
    const { prefix, racer, other } = racedOnce();
    let stepCalls = 0;
    const counted: Step = (state) => {
      stepCalls++;
      return addDay({ date: '2024-03-02' }, [audit('decision', { attempt: stepCalls })])(state);
    };

    const result = await new PatientStore(racer, { prefix }).apply(textEvent('mine'), counted, NOW);

    expect(stepCalls).toBe(2);
    expect(result.state?.days.map((day) => day.date)).toEqual(['2024-03-01', '2024-03-02']);
    expect((await other.load(PATIENT))?.days).toHaveLength(2);
    // The aborted attempt's audit entry was never written: audit commits with the state or not at all.
    expect(await other.auditLog(PATIENT)).toEqual([{ at: NOW, kind: 'decision', detail: { attempt: 2 } }]);
  });

  it('gives up with a clear error when the patient stays contended, leaving the event unprocessed', async () => {
    const prefix = fixture.prefix();
    const racer = fixture.connect();
    const other = new PatientStore(fixture.connect(), { prefix });
    let round = 0;
    interfereBeforeExec(racer, async () => {
      round++;
      await other.apply(textEvent(`other-${round}`), answerStartBack, NOW);
    });
    const store = new PatientStore(racer, { prefix, maxAttempts: 5 });

    await expect(store.apply(textEvent('mine'), addDay({ date: '2024-03-02' }), NOW)).rejects.toThrow(
      /too contended/,
    );
    expect(round).toBe(5);
    expect((await other.load(PATIENT))?.days).toEqual([]);
    // The lost event was not remembered: applied again, it is stepped.
    const again = await new PatientStore(fixture.redis, { prefix }).apply(
      textEvent('mine'),
      answerStartBack,
      NOW,
    );
    expect(again.duplicate).toBe(false);
  });

  it('treats a connection closed between WATCH and EXEC as a conflict', async () => {
    const client = fixture.connect();
    const store = new PatientStore(client, { prefix: fixture.prefix() });
    let stepCalls = 0;
    const step: Step = (state) => {
      stepCalls++;
      // Stands in for a reconnect: the store only learns of one through this event.
      if (stepCalls === 1) client.emit('close');
      return answerStartBack(state);
    };

    const result = await store.apply(textEvent('e1'), step, NOW);

    expect(stepCalls).toBe(2);
    expect(result.state?.profile.startBack).toEqual([1]);
  });

  it('processes a repeated event id once and reports the repeat as a duplicate', async () => {
    const prefix = fixture.prefix();
    const store = new PatientStore(fixture.redis, { prefix });
    const first = await store.apply(textEvent('update-7'), answerStartBack, NOW);
    const storedBefore = await fixture.redis.get(keysOf(PATIENT, prefix).state);
    let stepCalls = 0;

    const again = await store.apply(
      textEvent('update-7'),
      (state) => {
        stepCalls++;
        return answerStartBack(state);
      },
      NOW + 1,
    );

    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ duplicate: true, state: first.state, effects: [] });
    expect(stepCalls).toBe(0);
    expect(await fixture.redis.get(keysOf(PATIENT, prefix).state)).toBe(storedBefore);
    expect(again.state?.profile.startBack).toEqual([1]);
  });

  it('writes audit effects to the audit list and returns every effect after the commit', async () => {
    const store = new PatientStore(fixture.redis, { prefix: fixture.prefix() });
    const send: Effect = { type: 'send', message: { text: 'hello' } };
    const effects = [audit('consent', { given: true }), send, audit('status', { to: 'onboarding' })];

    const result = await store.apply(textEvent('e1'), addDay({ date: '2024-01-01' }, effects), NOW);

    expect(result.effects).toEqual(effects);
    expect(await store.auditLog(PATIENT)).toEqual([
      { at: NOW, kind: 'consent', detail: { given: true } },
      { at: NOW, kind: 'status', detail: { to: 'onboarding' } },
    ]);
  });

  it('removes every key of the patient on a delete effect and leaves other patients alone', async () => {
    const prefix = fixture.prefix();
    const store = new PatientStore(fixture.redis, { prefix });
    await store.apply(
      textEvent('e1'),
      addDay({ date: '2024-01-01' }, [audit('consent', { given: true })]),
      NOW,
    );
    await store.apply(textEvent('e2', 'tg:2'), addDay({ date: '2024-01-01' }, [], 'tg:2'), NOW);
    // The platform adapter's bookkeeping (Telegram question message ids) goes too.
    await fixture.redis.hset(keysOf(PATIENT, prefix).platform, 'q1', '17');
    // The record (state, event ids, audit log) and the platform's bookkeeping.
    expect(await keysUnder(fixture.redis, `${prefix}{${PATIENT}}`)).toHaveLength(2);

    const result = await store.apply(
      textEvent('e3'),
      (state) => ({ state, effects: [{ type: 'delete' }] }),
      NOW,
    );

    expect(result).toEqual({ duplicate: false, state: null, effects: [{ type: 'delete' }] });
    expect(await keysUnder(fixture.redis, prefix)).toEqual(
      Object.values(keysOf('tg:2', prefix))
        .filter((key) => key.endsWith(':state'))
        .sort(),
    );
    expect(await store.load(PATIENT)).toBeNull();
  });

  it('deletes the state but keeps the audit and the seen ids when the step returns null', async () => {
    const prefix = fixture.prefix();
    const store = new PatientStore(fixture.redis, { prefix });
    await store.apply(textEvent('e1'), answerStartBack, NOW);

    const result = await store.apply(
      textEvent('e2'),
      () => ({ state: null, effects: [audit('consent', {})] }),
      NOW,
    );

    expect(result.state).toBeNull();
    expect(await store.load(PATIENT)).toBeNull();
    expect(await store.auditLog(PATIENT)).toHaveLength(1);
    // e1's id was in the record that went; e2's is kept where the record cannot carry it.
    expect(await fixture.redis.zrange(keysOf(PATIENT, prefix).seen, 0, -1)).toEqual(['e2']);
  });

  it('forgets processed event ids older than the window', async () => {
    const store = new PatientStore(fixture.redis, { prefix: fixture.prefix() });
    await store.apply(textEvent('too-old'), answerStartBack, NOW - SEEN_WINDOW_MS - 1000);
    await store.apply(textEvent('recent'), answerStartBack, NOW - SEEN_WINDOW_MS + 1000);
    await store.apply(textEvent('new'), answerStartBack, NOW);

    expect((await store.apply(textEvent('recent'), answerStartBack, NOW)).duplicate).toBe(true);
    expect((await store.apply(textEvent('too-old'), answerStartBack, NOW)).duplicate).toBe(false);
  });

  it('keeps only the newest processed event ids', async () => {
    const store = new PatientStore(fixture.redis, { prefix: fixture.prefix() });
    const same: Step = (state) => ({ state: orNew(state), effects: [] });
    for (let i = 0; i <= SEEN_LIMIT; i++) await store.apply(textEvent(`e${i}`), same, NOW + i);

    expect((await store.apply(textEvent(`e${SEEN_LIMIT}`), same, NOW)).duplicate).toBe(true);
    expect((await store.apply(textEvent('e1'), same, NOW)).duplicate).toBe(true);
    expect((await store.apply(textEvent('e0'), same, NOW)).duplicate).toBe(false);
  });

  it('still honours event ids an earlier version kept in a set of their own, until they age out', async () => {
    const prefix = fixture.prefix();
    const keys = keysOf(PATIENT, prefix);
    await fixture.redis.set(keys.state, JSON.stringify(newPatient(PATIENT, 'en', NOW)));
    await fixture.redis.zadd(keys.seen, NOW - 1000, 'old-update');
    const store = new PatientStore(fixture.redis, { prefix });

    expect((await store.apply(textEvent('old-update'), answerStartBack, NOW)).duplicate).toBe(true);
    expect((await store.apply(textEvent('new-update'), answerStartBack, NOW)).duplicate).toBe(false);
    expect((await store.apply(textEvent('new-update'), answerStartBack, NOW)).duplicate).toBe(true);
    expect((await store.apply(textEvent('old-update'), answerStartBack, NOW)).duplicate).toBe(true);
    expect(await fixture.redis.pttl(keys.seen)).toBeGreaterThan(SEEN_WINDOW_MS - 60_000);
  });

  it('refuses to store a state the schema rejects, writing nothing', async () => {
    const prefix = fixture.prefix();
    const store = new PatientStore(fixture.redis, { prefix });
    const broken: Step = (state) => ({ state: { ...orNew(state), locale: 'fr' as 'en' }, effects: [] });

    await expect(store.apply(textEvent('e1'), broken, NOW)).rejects.toThrow(
      /invalid state for patient tg:1001: locale/,
    );
    expect(await keysUnder(fixture.redis, prefix)).toEqual([]);
  });

  it('throws naming the key when the stored state is not JSON', async () => {
    const prefix = fixture.prefix();
    const key = keysOf(PATIENT, prefix).state;
    await fixture.redis.set(key, '{not json');
    const store = new PatientStore(fixture.redis, { prefix });

    await expect(store.load(PATIENT)).rejects.toThrow(`Stored value at ${key} is invalid: not valid JSON`);
  });

  it('throws naming the key and the bad field when the stored state has the wrong shape', async () => {
    const prefix = fixture.prefix();
    const key = keysOf(PATIENT, prefix).state;
    const wrong = {
      ...newPatient(PATIENT, 'en', NOW),
      profile: { startBack: 'yes', deficits: [], redFlags: [] },
    };
    await fixture.redis.set(key, JSON.stringify(wrong));
    const store = new PatientStore(fixture.redis, { prefix });
    let stepCalls = 0;

    await expect(store.load(PATIENT)).rejects.toThrow(`Stored value at ${key} is invalid: profile.startBack`);
    await expect(
      store.apply(
        textEvent('e1'),
        (state) => {
          stepCalls++;
          return answerStartBack(state);
        },
        NOW,
      ),
    ).rejects.toThrow(key);
    expect(stepCalls).toBe(0);
  });

  it('throws when a key holds another patient’s state', async () => {
    const prefix = fixture.prefix();
    const key = keysOf(PATIENT, prefix).state;
    await fixture.redis.set(key, JSON.stringify(newPatient('tg:other', 'en', NOW)));

    await expect(new PatientStore(fixture.redis, { prefix }).load(PATIENT)).rejects.toThrow(
      `Stored value at ${key} is invalid: it holds the state of patient tg:other`,
    );
  });

  it('exports the state and audit as JSON and one CSV row per day', async () => {
    const store = new PatientStore(fixture.redis, { prefix: fixture.prefix() });
    const session = {
      drills: [
        { ladder: 'deep_core' as const, level: 2 },
        { ladder: 'glutes' as const, level: 1 },
      ],
      minimal: false,
    };
    await store.apply(
      textEvent('e1'),
      addDay({ date: '2024-01-01' }, [audit('consent', { given: true })]),
      NOW,
    );
    await store.apply(
      textEvent('e2'),
      addDay({
        date: '2024-01-02',
        session,
        outcome: 'done',
        pain: 3,
        difficulty: 'about_right',
        painDuring: 'mild',
        decision: 'hold',
      }),
      NOW,
    );

    const exported = await store.exportPatient(PATIENT);

    const json = JSON.parse(exported?.json ?? 'null');
    expect(json.patientId).toBe(PATIENT);
    expect(json.state.days).toHaveLength(2);
    expect(json.audit).toEqual([{ at: NOW, kind: 'consent', detail: { given: true } }]);
    expect(exported?.json).toContain('\n  "state"');
    expect(exported?.csv.trimEnd().split('\n')).toEqual([
      'date,outcome,pain,difficulty,pain_during,decision,drills',
      '2024-01-01,,,,,,',
      '2024-01-02,done,3,about_right,mild,hold,deep_core:2 glutes:1',
    ]);
  });

  it('exports nothing for a patient with no data', async () => {
    const store = new PatientStore(fixture.redis, { prefix: fixture.prefix() });
    expect(await store.exportPatient(PATIENT)).toBeNull();
  });
});

describe('PatientStore.applyMany', () => {
  const ids = ['tg:2001', 'tg:2002', 'tg:2003'];
  const sendEffect: Effect = { type: 'send', message: { text: 'today' } };
  const fulfilled = <T>(results: PromiseSettledResult<T>[]) =>
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message));

  it('steps many patients in one transaction, as apply would one by one', async () => {
    const prefix = fixture.prefix();
    const connection = fixture.connect();
    const store = new PatientStore(connection, { prefix });
    await store.apply(textEvent('before', 'tg:2001'), addDay({ date: '2024-01-01' }, [], 'tg:2001'), NOW);
    const multi = vi.spyOn(connection, 'multi');
    const results = await store.applyMany(
      ids.map((id) => ({
        event: textEvent(`e-${id}`, id),
        step: addDay({ date: '2024-01-02' }, [sendEffect], id),
      })),
      NOW,
    );
    expect(fulfilled(results).map((r) => typeof r !== 'string' && r.state?.days.map((d) => d.date))).toEqual([
      ['2024-01-01', '2024-01-02'],
      ['2024-01-02'],
      ['2024-01-02'],
    ]);
    for (const id of ids) expect(await store.unsettled(id)).toEqual([`e-${id}`]);
    // One transaction for the three.
    expect(multi).toHaveBeenCalledTimes(1);
    multi.mockRestore();
    // Each event counts as processed: again, it is a duplicate that hands back its pending effects.
    const again = await store.applyMany(
      ids.map((id) => ({ event: textEvent(`e-${id}`, id), step: addDay({ date: '2024-01-03' }, [], id) })),
      NOW,
    );
    expect(fulfilled(again).map((r) => typeof r !== 'string' && [r.duplicate, r.effects])).toEqual(
      ids.map(() => [true, [sendEffect]]),
    );
    expect((await store.load('tg:2002'))?.days).toHaveLength(1);
  });

  it('reads, commits and settles a batch in one command each, however many patients it has', async () => {
    const prefix = fixture.prefix();
    const connection = fixture.connect();
    const store = new PatientStore(connection, { prefix });
    const commands = vi.spyOn(connection, 'sendCommand');
    const batch = async (count: number, from: number) => {
      const patients = Array.from({ length: count }, (_, i) => `tg:${from + i}`);
      commands.mockClear();
      const results = await store.applyMany(
        patients.map((id) => ({
          event: textEvent(`e-${id}`, id),
          step: addDay({ date: '2024-01-02' }, [sendEffect], id),
        })),
        NOW,
      );
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      const applied = commands.mock.calls.map(([command]) => command.name);
      commands.mockClear();
      await store.settleMany(patients.map((id) => ({ patientId: id, eventId: `e-${id}` })));
      const settled = commands.mock.calls.length;
      for (const id of patients) {
        expect((await store.load(id))?.days.map((d) => d.date)).toEqual(['2024-01-02']);
        expect(await store.unsettled(id)).toEqual([]);
      }
      return { applied, settled };
    };
    await batch(2, 2900); // a script's first use on a connection sends it whole (EVAL)
    const three = await batch(3, 3000);
    const thirty = await batch(30, 3100);
    expect(thirty).toEqual(three);
    expect(three.settled).toBe(1);
    // WATCH, the read, MULTI, the commit, EXEC.
    expect(thirty.applied).toEqual(['watch', 'evalsha', 'multi', 'evalsha', 'exec']);
    commands.mockRestore();
  });

  it('honours in a batch the ids an earlier version kept in a set of their own, and ages the set out', async () => {
    const prefix = fixture.prefix();
    const keys = keysOf('tg:2001', prefix);
    await fixture.redis.set(keys.state, JSON.stringify(newPatient('tg:2001', 'en', NOW)));
    await fixture.redis.zadd(keys.seen, NOW - 1000, 'old-update');
    const store = new PatientStore(fixture.connect(), { prefix });
    const step = (id: string) => addDay({ date: '2024-03-02' }, [], id);
    const results = await store.applyMany(
      [
        { event: textEvent('old-update', 'tg:2001'), step: step('tg:2001') },
        { event: textEvent('old-update', 'tg:2002'), step: step('tg:2002') },
      ],
      NOW,
    );
    expect(fulfilled(results).map((r) => typeof r !== 'string' && r.duplicate)).toEqual([true, false]);
    expect(await fixture.redis.pttl(keys.seen)).toBe(-1);
    await store.applyMany(
      ['tg:2001', 'tg:2002'].map((id) => ({ event: textEvent('new-update', id), step: step(id) })),
      NOW,
    );
    expect((await store.load('tg:2001'))?.days.map((d) => d.date)).toEqual(['2024-03-02']);
    expect(await fixture.redis.pttl(keys.seen)).toBeGreaterThan(SEEN_WINDOW_MS - 60_000);
  });

  it('takes the events one by one when another writer got in first, losing no update', async () => {
    const { prefix, racer } = racedOnce('tg:2002');
    const store = new PatientStore(racer, { prefix });
    const results = await store.applyMany(
      ids.map((id) => ({ event: textEvent(`e-${id}`, id), step: addDay({ date: '2024-03-02' }, [], id) })),
      NOW,
    );
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect((await store.load('tg:2002'))?.days.map((d) => d.date)).toEqual(['2024-03-01', '2024-03-02']);
    for (const id of ['tg:2001', 'tg:2003']) expect((await store.load(id))?.days).toHaveLength(1);
  });

  it('steps each patient with its own event when another’s read fails', async () => {
    const prefix = fixture.prefix();
    // A seen key of the wrong type: reading tg:2001 fails, in the batch and again on its own.
    await fixture.redis.set(keysOf('tg:2001', prefix).seen, 'not a sorted set');
    const store = new PatientStore(fixture.connect(), { prefix });
    // Records to step, so a step meant for another patient would keep their id and go unnoticed.
    for (const id of ['tg:2002', 'tg:2003'])
      await store.apply(textEvent(`before-${id}`, id), addDay({ date: '2024-02-01' }, [], id), NOW);
    const results = await store.applyMany(
      ids.map((id, i) => ({
        event: textEvent(`e-${id}`, id),
        step: addDay({ date: `2024-03-0${i + 1}` }, [], id),
      })),
      NOW,
    );
    expect(fulfilled(results)[0]).toMatch(/WRONGTYPE/);
    expect((await store.load('tg:2002'))?.days.map((d) => d.date)).toEqual(['2024-02-01', '2024-03-02']);
    expect((await store.load('tg:2003'))?.days.map((d) => d.date)).toEqual(['2024-02-01', '2024-03-03']);
  });

  it('fails only the patient whose record is broken, naming its key', async () => {
    const prefix = fixture.prefix();
    const broken = keysOf('tg:2002', prefix).state;
    await fixture.redis.set(broken, '{not json');
    const store = new PatientStore(fixture.connect(), { prefix });
    const results = await store.applyMany(
      ids.map((id) => ({ event: textEvent(`e-${id}`, id), step: addDay({ date: '2024-03-02' }, [], id) })),
      NOW,
    );
    expect(fulfilled(results)[1]).toBe(`Stored value at ${broken} is invalid: not valid JSON`);
    for (const id of ['tg:2001', 'tg:2003']) expect((await store.load(id))?.days).toHaveLength(1);
  });

  it('fails only an event whose patient id can make no key', async () => {
    const prefix = fixture.prefix();
    const store = new PatientStore(fixture.connect(), { prefix });
    const odd = ['tg:2007', 'tg:{2008}', 'tg:2009'];
    const results = await store.applyMany(
      odd.map((id) => ({ event: textEvent(`e-${id}`, id), step: addDay({ date: '2024-03-02' }, [], id) })),
      NOW,
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(fulfilled(results)[1]).toMatch(/Invalid patient id/);
  });

  it('refuses two events of one patient, and writes no key for a timer about nobody', async () => {
    const prefix = fixture.prefix();
    const store = new PatientStore(fixture.connect(), { prefix });
    const same = [textEvent('a', 'tg:2001'), textEvent('b', 'tg:2001')];
    await expect(
      store.applyMany(
        same.map((event) => ({ event, step: answerStartBack })),
        NOW,
      ),
    ).rejects.toThrow(/one event per patient/);
    const nobody = (id: string): InboundEvent => ({
      id: `t-${id}`,
      patientId: id,
      kind: 'timer',
      timer: 'drills_due',
    });
    const results = await store.applyMany(
      ['tg:2005', 'tg:2006'].map((id) => ({ event: nobody(id), step: () => ({ state: null, effects: [] }) })),
      NOW,
    );
    expect(fulfilled(results)).toEqual([
      { duplicate: false, state: null, effects: [] },
      { duplicate: false, state: null, effects: [] },
    ]);
    expect(await keysUnder(fixture.redis, prefix)).toEqual([]);
  });
});
