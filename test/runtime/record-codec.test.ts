import { deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/engine/events.ts';
import { type DayRecord, type LevelChange, newPatient, type PatientState } from '../../src/engine/state.ts';
import { decodeAudit, decodeRecord, encodeRecord, seenIdOf } from '../../src/runtime/record-codec.ts';
import { STATE_DICTIONARY } from '../../src/runtime/record-dictionaries.ts';
import { keysOf, PatientStore } from '../../src/runtime/store.ts';
import { realContent } from '../support/content.ts';
import { type CheckIn, SimPatient } from '../support/patient.ts';
import { useRedis } from '../support/redis.ts';
import { seeded } from '../support/service.ts';

const fixture = useRedis();
const EMPTY = Buffer.alloc(0);

/** The compact state a record holds, as stored (days and level changes as tuples). */
function storedState(record: Buffer): Record<string, unknown> {
  const part = record.subarray(7, 7 + record.readUInt32BE(1));
  return JSON.parse(inflateRawSync(part, { dictionary: STATE_DICTIONARY }).toString('utf8'));
}

/** A record holding `stored` as its state, written as the codec writes one, no checks made. */
function recordOf(stored: unknown): Buffer {
  const part = deflateRawSync(JSON.stringify(stored), { dictionary: STATE_DICTIONARY });
  const header = Buffer.alloc(7);
  header[0] = 1;
  header.writeUInt32BE(part.length, 1);
  return Buffer.concat([header, part]);
}

/** A patient after `days` days of check-ins through the engine: mostly done, now and then a flare-up. */
function history(days: number, seed = 7): { state: PatientState; audit: AuditEntry[] } {
  const random = seeded(seed);
  const sim = new SimPatient(realContent(), { id: 'tg:1000000001' }).onboard();
  for (let d = 0; d < days; d++) {
    const r = random();
    const checkIn: CheckIn = {
      outcome: r < 0.08 ? 'skipped' : r < 0.2 ? 'partly' : 'done',
      pain: random() < 0.05 ? 7 : random() < 0.5 ? 2 : 3,
      difficulty: random() < 0.4 ? 'too_easy' : 'about_right',
      painDuring: random() < 0.8 ? 'none' : 'mild',
    };
    sim.day(checkIn);
    sim.advanceTo('20:00');
    sim.timer('checkin_reminder');
  }
  const audit = sim.effects.flatMap((e) => (e.type === 'audit' ? [e.entry] : []));
  return { state: sim.state as PatientState, audit };
}

describe('patient records', () => {
  it('give back exactly the state and audit log of 90 days of check-ins, in under 3 KB', () => {
    const { state, audit } = history(90);
    expect(state.days).toHaveLength(90);

    const record = encodeRecord(state, new Map(), EMPTY, audit);
    const decoded = decodeRecord(record);

    expect(decoded.state).toStrictEqual(state);
    expect(decodeAudit(decoded.audit)).toStrictEqual(audit);
    expect(decoded.legacy).toBe(false);
    // As JSON the same state and log take about 60 KB.
    expect(JSON.stringify(state).length + JSON.stringify(audit).length).toBeGreaterThan(40_000);
    expect(record.length).toBeLessThan(3072);
  });

  it('carry the audit part over byte for byte when a step adds no entries, and append when it does', () => {
    const { state, audit } = history(10);
    const first = decodeRecord(encodeRecord(state, new Map(), EMPTY, audit.slice(0, -1)));
    const same = decodeRecord(encodeRecord(state, new Map(), first.audit, []));
    expect(same.audit.equals(first.audit)).toBe(true);

    const appended = decodeRecord(encodeRecord(state, new Map(), first.audit, audit.slice(-1)));
    expect(decodeAudit(appended.audit)).toStrictEqual(audit);
  });

  it('round-trip any check-in history (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 10_000 }), (days, seed) => {
        const { state, audit } = history(days, seed);
        const decoded = decodeRecord(encodeRecord(state, new Map(), EMPTY, audit));
        expect(decoded.state).toStrictEqual(state);
        expect(decodeAudit(decoded.audit)).toStrictEqual(audit);
      }),
      { numRuns: 40 },
    );
  });

  it('carry the processed event ids, hashed, with the second each was processed', () => {
    const seen = new Map([
      [seenIdOf('tg|1001'), 1_780_000_000],
      [seenIdOf('timer|drills_due|tg%3A5|2026-05-30'), 1_780_000_100],
    ]);
    const record = encodeRecord(newPatient('tg:5', 'en', 0), seen, EMPTY, []);
    expect(decodeRecord(record).seen).toStrictEqual(seen);
    expect(record.includes('tg:5')).toBe(false); // nothing readable about the patient outside the deflated state
    expect(seenIdOf('tg|1001')).not.toBe(seenIdOf('tg|1002'));
  });

  it('read the plain JSON state of earlier versions', () => {
    const state = newPatient('tg:5', 'en', 0);
    expect(decodeRecord(Buffer.from(JSON.stringify(state)))).toStrictEqual({
      state,
      seen: new Map(),
      audit: EMPTY,
      legacy: true,
      checked: { days: [], levelChanges: [] },
    });
  });

  it('refuse what is not a record, saying why', () => {
    const good = encodeRecord(newPatient('tg:5', 'en', 0), new Map(), EMPTY, []);
    expect(() => decodeRecord(Buffer.from([2, 0, 0, 0, 0, 0, 0]))).toThrow('not a record of a known version');
    expect(() => decodeRecord(good.subarray(0, good.length - 3))).toThrow('the state part is cut short');
    expect(() => decodeRecord(Buffer.from([1, 0, 0, 0, 2, 0, 0, 0xff, 0xff]))).toThrow(
      'the state does not unpack',
    );
    const lying = Buffer.from(good);
    lying.writeUInt32BE(10_000, 1);
    expect(() => decodeRecord(lying)).toThrow('the state part is cut short');
    expect(() => decodeRecord(Buffer.from('{oops'))).toThrow('not valid JSON');
  });

  it('refuse a stored state the schema rejects, naming the field as the state has it', () => {
    const { state } = history(3);
    const stored = storedState(encodeRecord(state, new Map(), EMPTY, []));
    const withDay = (change: (day: unknown[]) => void) => {
      const copy = structuredClone(stored) as { days: unknown[][] };
      change(copy.days[1] as unknown[]);
      return recordOf(copy);
    };

    expect(() => decodeRecord(withDay((day) => (day[5] = 11)))).toThrow(/^days\.1\.pain: Too big/);
    expect(() => decodeRecord(withDay((day) => (day[3] = 'deep_core:2,tightrope:1')))).toThrow(
      /^days\.1\.session: Invalid string/,
    );
    expect(() => decodeRecord(withDay((day) => day.pop()))).toThrow(/^days\.1: /);
    const badChange = structuredClone(stored) as { levelChanges: unknown[][] };
    badChange.levelChanges = [
      ['2026-05-01', 'glutes', 1, 2, 'progression', 'reason.breakthrough', { x: true }],
    ];
    expect(() => decodeRecord(recordOf(badChange))).toThrow(/^levelChanges\.0\.reason\.params\.x: /);
    expect(() => decodeRecord(recordOf({ ...stored, locale: 'fr' }))).toThrow(/^locale: /);
    // The same record with its fields as they were reads back.
    expect(decodeRecord(recordOf(stored)).state).toStrictEqual(state);
  });

  it('refuse to pack a state the schema rejects, naming the field', () => {
    const { state } = history(3);
    const pack = (changed: PatientState) => () => encodeRecord(changed, new Map(), EMPTY, []);
    const days = (change: (day: PatientState['days'][number]) => void) => {
      const copy = structuredClone(state);
      change(copy.days[2] as PatientState['days'][number]);
      return copy;
    };

    expect(pack(days((day) => (day.pain = 11)))).toThrow(/^days\.2\.pain: Too big/);
    expect(pack(days((day) => (day.date = '2026-5-1')))).toThrow(/^days\.2\.date: /);
    expect(
      pack(
        days((day) => (day.session = { drills: [{ ladder: 'nope' as 'glutes', level: 1 }], minimal: false })),
      ),
    ).toThrow(/^days\.2\.session: /);
    expect(pack(days((day) => (day.session = { drills: [], minimal: true })))).toThrow(/^days\.2\.session: /);
    expect(
      pack(days((day) => (day.session = { drills: [{ ladder: 'glutes', level: 0 }], minimal: false }))),
    ).toThrow(/^days\.2\.session: /);
    expect(pack({ ...state, lastSeq: -1 })).toThrow(/^lastSeq: /);
  });

  it('check again, when packing a step of a record read, only the days and level changes it changed', () => {
    const { state } = history(21);
    expect(state.levelChanges.length).toBeGreaterThan(1);
    const record = encodeRecord(state, new Map(), EMPTY, []);
    /** The record read afresh, `change` made to its state as a step would, packed again. */
    const repack = (change: (read: PatientState) => void) => () => {
      const read = decodeRecord(record);
      change(read.state);
      return encodeRecord(read.state, new Map(), EMPTY, [], read.checked);
    };

    expect(decodeRecord(repack(() => undefined)()).state).toStrictEqual(state);
    const added = repack((read) => read.days.push({ date: '2099-01-01', pain: 2 }));
    expect(decodeRecord(added()).state.days.at(-1)).toStrictEqual({ date: '2099-01-01', pain: 2 });
    expect(repack((read) => ((read.days[4] as { pain?: number }).pain = 11))).toThrow(
      /^days\.4\.pain: Too big/,
    );
    expect(repack((read) => read.days.push({ ...(read.days[3] as DayRecord), pain: -1 }))).toThrow(
      /^days\.21\.pain: /,
    );
    // A change's reason edited in place, or a value of another type that reads the same.
    expect(repack((read) => ((read.levelChanges[1] as LevelChange).reason.params.x = true as never))).toThrow(
      /^levelChanges\.1\.reason\.params\.x: /,
    );
    expect(repack((read) => ((read.levelChanges[0] as LevelChange).from = '1' as never))).toThrow(
      /^levelChanges\.0\.from: /,
    );
    expect(repack((read) => ((read.levelChanges[0] as LevelChange).reason.params = ['x'] as never))).toThrow(
      /^levelChanges\.0\.reason\.params: /,
    );
  });

  it('take a day or level change equal to one the read checked as checked', () => {
    // The read's tuples are what the same schema passed; the codec compares with them, not checks.
    const { state } = history(3);
    const read = decodeRecord(encodeRecord(state, new Map(), EMPTY, []));
    const odd = { date: '2026-01-01', pain: 11 };
    const withOdd = { ...read.state, days: [...read.state.days, odd] };
    const vouched = {
      ...read.checked,
      days: [...read.checked.days, ['2026-01-01', null, null, null, null, 11, null, null, null]],
    };

    expect(() => encodeRecord(withOdd, new Map(), EMPTY, [], read.checked)).toThrow(/^days\.3\.pain: /);
    expect(() => encodeRecord(withOdd, new Map(), EMPTY, [], vouched as never)).not.toThrow();
  });
});

describe('the store with records of earlier versions', () => {
  it('reads a JSON state and its audit list, then keeps both readable after the next step', async () => {
    const prefix = fixture.prefix();
    const keys = keysOf('tg:5', prefix);
    const old = newPatient('tg:5', 'en', 0);
    const oldEntry: AuditEntry = { at: 1, kind: 'consent', detail: { given: true } };
    await fixture.redis.set(keys.state, JSON.stringify(old));
    await fixture.redis.rpush(keys.audit, JSON.stringify(oldEntry));
    const store = new PatientStore(fixture.redis, { prefix });

    expect(await store.load('tg:5')).toStrictEqual(old);
    const newEntry: AuditEntry = { at: 2, kind: 'status', detail: { status: 'onboarding' } };
    await store.apply(
      { id: 'e1', patientId: 'tg:5', kind: 'text', text: 'hi' },
      (state) => ({
        state: { ...(state as PatientState), status: 'onboarding' },
        effects: [{ type: 'audit', entry: newEntry }],
      }),
      3,
    );

    expect((await fixture.redis.getBuffer(keys.state))?.[0]).toBe(1);
    expect((await store.load('tg:5'))?.status).toBe('onboarding');
    expect(await store.auditLog('tg:5')).toStrictEqual([oldEntry, newEntry]);
  });

  it('names the key of a record that does not unpack', async () => {
    const prefix = fixture.prefix();
    const key = keysOf('tg:6', prefix).state;
    await fixture.redis.set(key, Buffer.from([1, 0, 0, 0, 2, 0, 0, 0xff, 0xff]));
    await expect(new PatientStore(fixture.redis, { prefix }).load('tg:6')).rejects.toThrow(
      `Stored value at ${key} is invalid: the state does not unpack`,
    );
  });
});
