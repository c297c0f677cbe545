/** `error[property]` when `error` is an object: where drivers put a SQLSTATE, an errno or a server code. */
export function errorProperty(error: unknown, property: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[property] : undefined;
}
