/** The fixed window of `windowSeconds` containing `now`: windows start at multiples of its length since the epoch. */
export function rateLimitWindow(now: Date, windowSeconds: number): { startMs: number; resetAt: Date } {
  if (!Number.isInteger(windowSeconds) || windowSeconds <= 0) {
    throw new RangeError('windowSeconds must be a positive integer');
  }
  const length = windowSeconds * 1000;
  const startMs = Math.floor(now.getTime() / length) * length;
  return { startMs, resetAt: new Date(startMs + length) };
}
