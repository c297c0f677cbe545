import { AccountDisabledError } from '../errors.js';
import type { User, UserChecker } from './user.js';

/**
 * Refuses users whose `enabled` is false, before and after authentication.
 *
 * @example
 * createJwtRefresh({ ..., userChecker: defaultUserChecker });
 */
export const defaultUserChecker: UserChecker = {
  checkPreAuth(user: User): void {
    if (user.enabled === false) throw new AccountDisabledError();
  },
  checkPostAuth(user: User): void {
    if (user.enabled === false) throw new AccountDisabledError();
  },
};
