/** A source of the current time. Injected everywhere so tests move time instead of sleeping. */
export type Clock = () => Date;

/** The wall clock. */
export const systemClock: Clock = () => new Date();

/** Whole unix seconds of a date. */
export function toUnixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** The later of `date` + `seconds`, capped by `cap` when given. */
export function addSecondsCapped(date: Date, seconds: number, cap: Date | null): Date {
  const candidate = new Date(date.getTime() + seconds * 1000);
  return cap !== null && cap.getTime() < candidate.getTime() ? cap : candidate;
}
