import { createHmac } from 'node:crypto';

/**
 * The successor of a rotated refresh token, derived deterministically:
 * HMAC-SHA-512(server secret, parent ‖ family ‖ generation), hex (128 chars,
 * the shape of a generated token).
 *
 * Why deterministic: two requests racing with the same parent (two tabs, a
 * retry after a lost response) must both receive the SAME successor, yet the
 * store keeps only hashes. Deriving from the plain parent means only a holder
 * of the parent can recompute it, and nothing is ever stored in plain text.
 *
 * @example
 * const next = deriveSuccessorToken(secret, presented, record.familyId, record.generation + 1);
 */
export function deriveSuccessorToken(secret: string, parentToken: string, familyId: string, generation: number): string {
  return createHmac('sha512', secret)
    .update(parentToken)
    .update('\0')
    .update(familyId)
    .update('\0')
    .update(String(generation))
    .digest('hex');
}
