import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { formatDate, formatNumber } from '../../src/content/locale-format.ts';

describe('formatNumber', () => {
  it('formats as a new Intl.NumberFormat would, each set of options its own', () => {
    const oneDecimal = { minimumFractionDigits: 1, maximumFractionDigits: 1 };
    expect(formatNumber('de', 3.25, oneDecimal)).toBe('3,3');
    expect(formatNumber('de', 3.25)).toBe('3,25');
    expect(formatNumber('en', 3.25, oneDecimal)).toBe('3.3');
    expect(formatNumber('en', 1234)).toBe(new Intl.NumberFormat('en').format(1234));
    // Asked again, the same answers: a formatter made once is not another's.
    expect(formatNumber('de', 3.25, oneDecimal)).toBe('3,3');
    expect(formatNumber('de', 3.25)).toBe('3,25');
  });
});

describe('formatDate', () => {
  const formats: Intl.DateTimeFormatOptions[] = [
    { day: 'numeric', month: 'short' },
    { weekday: 'short', day: 'numeric', month: 'short' },
    DateTime.DATE_MED,
  ];

  it('tells a calendar date as luxon does in UTC, in each locale and format', () => {
    for (const locale of ['en', 'de'])
      for (const date of ['2026-01-01', '2026-03-29', '2026-10-25', '2026-12-31'])
        for (const format of formats) {
          const luxon = DateTime.fromISO(date, { zone: 'UTC' }).setLocale(locale).toLocaleString(format);
          expect(formatDate(locale, date, format)).toBe(luxon);
        }
  });

  it('keeps the date whatever the process’s zone: a date has none', () => {
    const zone = process.env.TZ;
    try {
      for (const tz of ['Pacific/Kiritimati', 'Pacific/Pago_Pago']) {
        process.env.TZ = tz; // Node reads a new TZ at once
        expect(formatDate('en', '2026-12-07', { weekday: 'short', day: 'numeric', month: 'short' })).toBe(
          'Mon, Dec 7',
        );
        expect(formatDate('de', '2026-12-07', DateTime.DATE_MED)).toBe('7. Dez. 2026');
      }
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
});
