import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { JwtRefreshRequest } from './jwt-auth.guard.js';
import { JWT_REFRESH_ROLE } from './tokens.js';

/**
 * The role `JwtAuthGuard` requires on a handler or a whole controller: the
 * token's `roles` claim must hold it, else 403 `{"code":403,"message":"Access Denied."}`.
 * A handler's role overrides its controller's.
 *
 * @example
 * ```ts
 * @UseGuards(JwtAuthGuard)
 * @Roles('ROLE_ADMIN')
 * @Get('admin')
 * admin() { return { ok: true }; }
 * ```
 */
export function Roles(role: string): MethodDecorator & ClassDecorator {
  return SetMetadata(JWT_REFRESH_ROLE, role);
}

/**
 * Parameter decorator: the verified claims of the access token (set by
 * `JwtAuthGuard`), or one claim when named. Undefined on an unguarded route.
 *
 * @example
 * me(@CurrentUser() claims: AccessTokenClaims, @CurrentUser('sub') userId: string) {}
 */
export const CurrentUser: (claim?: string) => ParameterDecorator = createParamDecorator(
  (claim: string | undefined, context: ExecutionContext) => {
    const claims = context.switchToHttp().getRequest<JwtRefreshRequest>().auth?.claims;
    return claim === undefined ? claims : claims?.[claim];
  },
);
