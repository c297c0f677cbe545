/** A clock tests move by hand: expiry is tested by advancing it, never by sleeping. */
export interface MovableClock {
  (): Date;
  advance(seconds: number): void;
  set(date: Date): void;
}

export function movableClock(start = new Date('2026-01-01T00:00:00Z')): MovableClock {
  let current = start.getTime();
  const clock = (() => new Date(current)) as MovableClock;
  clock.advance = (seconds) => {
    current += seconds * 1000;
  };
  clock.set = (date) => {
    current = date.getTime();
  };
  return clock;
}
