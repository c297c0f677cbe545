/**
 * The bundle's `valid` and `family_valid` columns as instants. Doctrine's
 * `datetime` type is naive: PHP writes the wall-clock time of its default
 * time zone (`date.timezone` in php.ini, UTC when unset) with no offset, so
 * the import needs that zone to know which instant a row means. A value that
 * carries an offset (`datetimetz`, PostgreSQL `timestamptz`) is taken as it says.
 *
 * Plain `Intl.DateTimeFormat`, no Temporal and no time-zone library.
 */

// 2026-12-06 04:50:07, 2026-12-06T04:50:07.123456, 2026-12-06 04:50:07+01, …+05:30, …Z
const SOURCE_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const HOUR_MS = 3_600_000;

/** Turns a naive wall-clock time (as UTC-based milliseconds) into the instant it names in one time zone. */
export type WallClockToInstant = (wallClockMs: number) => number;

/**
 * Checks a time-zone name (`UTC`, `Europe/Paris`, `America/New_York`) and
 * answers its canonical form as Intl knows it.
 *
 * @throws RangeError for a zone Intl does not know
 *
 * @example
 * checkTimeZone('europe/paris'); // 'Europe/Paris'
 */
export function checkTimeZone(timeZone: string): string {
  return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
}

/**
 * The conversion of naive wall-clock times in `timeZone` to instants. In the
 * hour a DST change repeats, the earlier instant is chosen; a time that a DST
 * change skips is moved forward by the gap, as PHP's DateTime does.
 *
 * @throws RangeError for an unknown zone
 */
export function wallClockToInstant(timeZone: string): WallClockToInstant {
  const zone = checkTimeZone(timeZone);
  if (zone === 'UTC' || zone === 'Etc/UTC' || zone === 'Etc/GMT') return (wallClockMs) => wallClockMs;
  const offsetAt = zoneOffset(zone);
  return (wallClockMs) => {
    // The zone's offsets a few hours either side bracket any DST change near this time.
    const before = offsetAt(wallClockMs - 12 * HOUR_MS);
    const after = offsetAt(wallClockMs + 12 * HOUR_MS);
    const candidates = [wallClockMs - before, wallClockMs - after].filter(
      (instant, index) => offsetAt(instant) === (index === 0 ? before : after),
    );
    if (candidates.length > 0) return Math.min(...candidates);
    // In the gap of a spring-forward change: read with the offset in force before it.
    return wallClockMs - before;
  };
}

/**
 * A datetime as read from a source column: `YYYY-MM-DD HH:MM[:SS[.fraction]]`,
 * naive (read in the zone of `toInstant`) or with an offset (`Z`, `+01`,
 * `+01:00`, `+0100`), or a driver's Date. Null when it is no such thing.
 *
 * @example
 * parseSourceDateTime('2026-12-06 05:50:07', wallClockToInstant('Europe/Paris')); // 2026-12-06T04:50:07.000Z
 */
export function parseSourceDateTime(value: unknown, toInstant: WallClockToInstant): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value !== 'string') return null;
  const match = SOURCE_DATETIME.exec(value.trim());
  if (match === null) return null;
  const [, year, month, day, hour, minute, second, fraction, offset] = match;
  const fields = [year, month, day, hour, minute, second ?? '0'].map(Number) as [number, number, number, number, number, number];
  const millisecond = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  const wallClockMs = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5], millisecond);
  const check = new Date(wallClockMs);
  // Date.UTC rolls 2026-02-30 over to March: such a value is refused, not moved.
  if (check.getUTCMonth() !== fields[1] - 1 || check.getUTCDate() !== fields[2] || fields[3] > 23 || fields[4] > 59 || fields[5] > 59) {
    return null;
  }
  const instant = offset === undefined ? toInstant(wallClockMs) : wallClockMs - offsetMs(offset);
  return Number.isFinite(instant) ? new Date(instant) : null;
}

function offsetMs(offset: string): number {
  if (offset.toUpperCase() === 'Z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0')) * 60_000;
}

/** The zone's UTC offset (ms) at an instant, from what Intl formats for it. */
function zoneOffset(timeZone: string): (instantMs: number) => number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return (instantMs) => {
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(new Date(instantMs))) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    const asUtc = Date.UTC(parts.year ?? 0, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
    // Whole seconds: formatToParts drops the milliseconds.
    return asUtc - (instantMs - (((instantMs % 1000) + 1000) % 1000));
  };
}
