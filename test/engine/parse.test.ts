import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchLabel, parseScore, parseWallTime, parseWindow, parseYesNo } from '../../src/engine/parse.ts';

describe('parseScore', () => {
  it.each([
    ['6', 6],
    ['0', 0],
    ['10', 10],
    ['six', 6],
    ['Six', 6],
    ['ten', 10],
    ['zero', 0],
    ['sechs', 6],
    ['fünf', 5],
    ['fuenf', 5],
    ['null', 0],
    ['zehn', 10],
    ['pain 6', 6],
    ['6/10', 6],
    ['6 / 10', 6],
    ['about 7/10 today', 7],
    ['none', 0],
    ['keine', 0],
  ])('reads %j as %i', (text, score) => {
    expect(parseScore(text)).toBe(score);
  });

  it.each([['12'], ['11'], ['12/10'], ['100'], [''], ['   '], ['hello'], ['pain']])(
    'gives undefined for %j',
    (text) => {
      expect(parseScore(text)).toBeUndefined();
    },
  );

  // BUG (src/engine/parse.ts:12 with :24): words() splits on every non-letter/digit, so the minus
  // sign is dropped and "-1" is read as 1, although the doc comment promises undefined out of range.
  it('gives undefined for a negative number like "-1"', () => {
    expect(parseScore('-1')).toBeUndefined();
    expect(parseScore('pain -3')).toBeUndefined();
  });

  // BUG (src/engine/parse.ts:29): `word in EXTRA_WORDS` also finds inherited Object.prototype
  // members; "constructor" is all lower case, so parseScore returns the Object function itself.
  it('gives undefined for words that are Object.prototype members ("constructor")', () => {
    expect(parseScore('constructor')).toBeUndefined();
  });

  const token = fc.oneof(
    fc.integer({ min: -20, max: 200 }).map(String),
    fc.constantFrom(
      'six',
      'sechs',
      'fünf',
      'ein',
      'eine',
      'none',
      'keine',
      'pain',
      'about',
      'today',
      '/',
      '/10',
      '-',
      '.',
      ',',
      ' ',
      'tostring',
      'valueof',
    ),
    fc.string({ maxLength: 6 }),
  );
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.array(token, { maxLength: 6 }).map((parts) => parts.join(' ')),
    fc.array(token, { maxLength: 6 }).map((parts) => parts.join('')),
  );

  it('never returns anything but an integer 0–10 or undefined, whatever the text', () => {
    fc.assert(
      fc.property(text, (t) => {
        const score = parseScore(t);
        if (score === undefined) return;
        expect(Number.isInteger(score)).toBe(true);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(10);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads every in-range integer back, bare and as n/10', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), (n) => {
        expect(parseScore(String(n))).toBe(n);
        expect(parseScore(`${n}/10`)).toBe(n);
        expect(parseScore(`pain ${n}`)).toBe(n);
      }),
    );
  });
});

describe('parseYesNo', () => {
  it.each([
    ['yes', 'yes'],
    ['Yes', 'yes'],
    ['YES!', 'yes'],
    ['yes please', 'yes'],
    ['y', 'yes'],
    ['ok', 'yes'],
    ['sure', 'yes'],
    ['ja', 'yes'],
    ['Ja, klar', 'yes'],
    ['klar', 'yes'],
    ['no', 'no'],
    ['No.', 'no'],
    ['nope', 'no'],
    ['n', 'no'],
    ['nein', 'no'],
    ['Nein danke', 'no'],
    ['nee', 'no'],
  ] as const)('reads %j as %s', (text, answer) => {
    expect(parseYesNo(text)).toBe(answer);
  });

  it.each([[''], ['  '], ['maybe'], ['vielleicht'], ['I think yes'], ['!!!']])(
    'gives undefined for %j',
    (text) => {
      expect(parseYesNo(text)).toBeUndefined();
    },
  );
});

describe('parseWallTime', () => {
  it.each([
    ['7', '07:00'],
    ['07', '07:00'],
    ['7:30', '07:30'],
    ['07:30', '07:30'],
    ['07.30', '07:30'],
    ['7h30', '07:30'],
    ['7am', '07:00'],
    ['7 AM', '07:00'],
    ['12am', '00:00'],
    ['12pm', '12:00'],
    ['6 pm', '18:00'],
    ['6:15pm', '18:15'],
    ['18 Uhr', '18:00'],
    ['18:45 uhr', '18:45'],
    ['0', '00:00'],
    ['23:59', '23:59'],
    ['  8:05  ', '08:05'],
  ])('reads %j as %s', (text, wall) => {
    expect(parseWallTime(text)).toBe(wall);
  });

  it.each([['24:00'], ['24'], ['7:75'], ['7:60'], ['7:5'], ['123'], [''], ['noon'], ['7:30:00'], ['-7']])(
    'gives undefined for %j',
    (text) => {
      expect(parseWallTime(text)).toBeUndefined();
    },
  );

  it('reads back every wall time it produces (HH:MM round trip)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), (h, m) => {
        const wall = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
        expect(parseWallTime(wall)).toBe(wall);
        expect(parseWallTime(`${h}:${String(m).padStart(2, '0')}`)).toBe(wall);
      }),
    );
  });
});

describe('parseWindow', () => {
  it.each([
    ['22-7', { start: '22:00', end: '07:00' }],
    ['22:00-07:00', { start: '22:00', end: '07:00' }],
    ['22:00 – 06:30', { start: '22:00', end: '06:30' }],
    ['22:30 – 6:30', { start: '22:30', end: '06:30' }],
    ['21 bis 8', { start: '21:00', end: '08:00' }],
    ['21 Uhr bis 8 Uhr', { start: '21:00', end: '08:00' }],
    ['10pm to 6am', { start: '22:00', end: '06:00' }],
    ['9-17', { start: '09:00', end: '17:00' }],
  ])('reads %j', (text, window) => {
    expect(parseWindow(text)).toEqual(window);
  });

  it.each([['7-7'], ['07:00 - 7'], ['22'], [''], ['22-7-3'], ['22-25'], ['late - early']])(
    'gives undefined for %j',
    (text) => {
      expect(parseWindow(text)).toBeUndefined();
    },
  );
});

describe('matchLabel', () => {
  const outcome = [
    { value: 'done', label: 'Done' },
    { value: 'partly', label: 'Partly' },
    { value: 'skipped', label: 'Skip today' },
    { value: 'snooze', label: 'Snooze 1 h' },
  ];

  it('matches a label exactly, ignoring case and surrounding spaces', () => {
    expect(matchLabel('Done', outcome)).toBe('done');
    expect(matchLabel('DONE', outcome)).toBe('done');
    expect(matchLabel('  skip TODAY ', outcome)).toBe('skipped');
  });

  it('matches a value exactly too', () => {
    expect(matchLabel('skipped', outcome)).toBe('skipped');
    expect(matchLabel('SNOOZE', outcome)).toBe('snooze');
  });

  it('matches a unique prefix of a label', () => {
    expect(matchLabel('par', outcome)).toBe('partly');
    expect(matchLabel('Skip', outcome)).toBe('skipped');
    expect(matchLabel('sn', outcome)).toBe('snooze');
  });

  it('gives undefined for an ambiguous prefix', () => {
    expect(matchLabel('s', outcome)).toBeUndefined();
  });

  it('gives undefined for no match and for empty text', () => {
    expect(matchLabel('finished', outcome)).toBeUndefined();
    expect(matchLabel('', outcome)).toBeUndefined();
    expect(matchLabel('   ', outcome)).toBeUndefined();
    expect(matchLabel('done', [])).toBeUndefined();
  });

  it('prefers an exact label over a prefix shared with a longer one', () => {
    const choices = [
      { value: 'no', label: 'No' },
      { value: 'no_quiet', label: 'No quiet hours' },
    ];
    expect(matchLabel('no', choices)).toBe('no');
    expect(matchLabel('no q', choices)).toBe('no_quiet');
  });

  it('returns one of the offered values or undefined, for any text', () => {
    const values = new Set(outcome.map((c) => c.value));
    fc.assert(
      fc.property(fc.string(), (t) => {
        const v = matchLabel(t, outcome);
        expect(v === undefined || values.has(v)).toBe(true);
      }),
    );
  });
});
