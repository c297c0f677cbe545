/**
 * The date argument of `jwt-refresh clear` (SPEC §10). The bundle hands it to
 * PHP's `DateTime`, so operators write what PHP understands; this reads the
 * forms they actually use:
 *
 * - ISO 8601 and its common spellings: `2015-08-08`, `2015-08-08 10:00`,
 *   `2015-08-08 10:00:00`, `2015-08-08T10:00:00.250Z`, `2015-08-08T10:00:00+02:00`;
 * - `@1438992000` (unix seconds, as in PHP);
 * - `now`, `today` / `midnight`, `yesterday`, `tomorrow`;
 * - relative terms, alone or after any of the above: `-1 day`, `-2 weeks`,
 *   `+3 hours`, `30 minutes ago`, `-1 month -2 days`.
 *
 * A date or time without a zone is local time, as PHP takes it in its default
 * time zone (run with `TZ=UTC` for UTC). Days, weeks, months and years move
 * the calendar (so `-1 day` across a DST change keeps the wall-clock time);
 * hours, minutes and seconds move the instant.
 */

/** What a unit of a relative term adds: an exact duration, or a calendar step. */
type UnitStep = { milliseconds: number } | { days: number } | { months: number };

const UNITS = new Map<string, UnitStep>([
  ['sec', { milliseconds: 1000 }],
  ['second', { milliseconds: 1000 }],
  ['min', { milliseconds: 60_000 }],
  ['minute', { milliseconds: 60_000 }],
  ['hour', { milliseconds: 3_600_000 }],
  ['day', { days: 1 }],
  ['week', { days: 7 }],
  ['fortnight', { days: 14 }],
  ['month', { months: 1 }],
  ['year', { months: 12 }],
]);

const KEYWORD = /^(now|today|midnight|yesterday|tomorrow)\b\s*/;
const UNIX = /^@(-?\d{1,12})\b\s*/;
// Date, then optionally a time (after T or a space) with an optional zone. A numeric offset must
// touch the time: "2015-08-08 10:00 +10 hours" is a relative term, not a zone.
// Each part is checked for range below.
const ABSOLUTE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:\s*(z|utc|gmt)\b|([+-]\d{2}(?::?\d{2})?))?)?(?=\s|$)\s*/;
const TERM = /^([+-]?)\s*(\d{1,9})\s*(sec|second|min|minute|hour|day|week|fortnight|month|year)s?\b(\s+ago\b)?\s*/;

/**
 * The instant `text` names, relative to `now`, or null when it is not a date
 * this parser understands or names an impossible one (`2015-02-30`).
 *
 * @example
 * parseDateArgument('-2 weeks', new Date()); // two weeks ago
 * parseDateArgument('2015-08-08T10:00:00Z', new Date()); // 2015-08-08T10:00:00.000Z
 * parseDateArgument('next tuesday', new Date()); // null
 */
export function parseDateArgument(text: string, now: Date): Date | null {
  let rest = text.trim().toLowerCase();
  if (rest === '') return null;

  let date: Date | null = new Date(now.getTime());
  const keyword = KEYWORD.exec(rest);
  const unix = UNIX.exec(rest);
  const absolute = ABSOLUTE.exec(rest);
  if (keyword !== null) {
    date = fromKeyword(keyword[1] ?? 'now', now);
    rest = rest.slice(keyword[0].length);
  } else if (unix !== null) {
    date = new Date(Number(unix[1]) * 1000);
    rest = rest.slice(unix[0].length);
  } else if (absolute !== null) {
    date = fromAbsolute(absolute);
    rest = rest.slice(absolute[0].length);
  }
  if (date === null) return null;

  while (rest !== '') {
    const term = TERM.exec(rest);
    if (term === null) return null;
    const sign = (term[1] === '-' ? -1 : 1) * (term[4] === undefined ? 1 : -1);
    const step = UNITS.get(term[3] ?? '');
    if (step === undefined) return null;
    date = applyTerm(date, sign * Number(term[2]), step);
    rest = rest.slice(term[0].length);
  }
  return Number.isFinite(date.getTime()) ? date : null;
}

function fromKeyword(keyword: string, now: Date): Date {
  if (keyword === 'now') return new Date(now.getTime());
  const midnight = new Date(now.getTime());
  midnight.setHours(0, 0, 0, 0);
  if (keyword === 'yesterday') midnight.setDate(midnight.getDate() - 1);
  if (keyword === 'tomorrow') midnight.setDate(midnight.getDate() + 1);
  return midnight;
}

function fromAbsolute(match: RegExpExecArray): Date | null {
  const [, yearText, monthText, dayText, hourText, minuteText, secondText, fractionText, namedZone, offsetZone] = match;
  const zone = namedZone ?? offsetZone;
  const year = Number(yearText);
  const month = Number(monthText);
  const day = Number(dayText);
  const hour = Number(hourText ?? 0);
  const minute = Number(minuteText ?? 0);
  const second = Number(secondText ?? 0);
  const millisecond = Math.floor(Number(`0.${fractionText ?? '0'}`) * 1000);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;

  if (zone === undefined) {
    const local = new Date(2000, 0, 1, hour, minute, second, millisecond);
    // setFullYear, not the constructor: the constructor maps years 0-99 to 1900-1999.
    local.setFullYear(year, month - 1, day);
    return local;
  }
  const utc = new Date(Date.UTC(2000, 0, 1, hour, minute, second, millisecond));
  utc.setUTCFullYear(year, month - 1, day);
  const offset = zoneOffsetMinutes(zone);
  if (offset === null) return null;
  return new Date(utc.getTime() - offset * 60_000);
}

/** Minutes east of UTC of `Z`, `UTC`, `GMT`, `+02`, `+0200` or `+02:00`, or null when out of range. */
function zoneOffsetMinutes(zone: string): number | null {
  if (zone === 'z' || zone === 'utc' || zone === 'gmt') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 14 || minutes > 59) return null;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

function daysInMonth(year: number, month: number): number {
  const probe = new Date(Date.UTC(2000, month, 0));
  probe.setUTCFullYear(year, month, 0);
  return probe.getUTCDate();
}

function applyTerm(date: Date, amount: number, step: UnitStep): Date {
  const moved = new Date(date.getTime());
  if ('milliseconds' in step) return new Date(date.getTime() + amount * step.milliseconds);
  // Calendar steps overflow as PHP's do: 2015-01-31 +1 month is 2015-03-03.
  if ('days' in step) moved.setDate(moved.getDate() + amount * step.days);
  else moved.setMonth(moved.getMonth() + amount * step.months);
  return moved;
}
