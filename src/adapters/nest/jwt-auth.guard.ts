import { HttpException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { IncomingHttpHeaders } from 'node:http';
import type { JwtRefresh } from '../../create-jwt-refresh.js';
import { errorParts } from '../../http/error-response.js';
import type { AccessTokenClaims } from '../../jwt/build-claims.js';
import { JWT_REFRESH, JWT_REFRESH_ROLE } from './tokens.js';

/** The request as the guard sees it on any platform, and the `auth` property it sets. */
export interface JwtRefreshRequest {
  url: string;
  headers: IncomingHttpHeaders;
  /** The verified access-token claims, set by {@link JwtAuthGuard}. */
  auth?: { claims: AccessTokenClaims };
}

/**
 * Guard: 401 (the core's JSON, `WWW-Authenticate: Bearer`) unless the request
 * has a valid Bearer access token, then 403 unless the token holds the role
 * `@Roles()` asks for on the handler or its controller. Sets `request.auth`,
 * which `@CurrentUser()` reads.
 *
 * Refusals are thrown as an `HttpException` whose response is the core's body,
 * so Nest's default filter answers exactly that, and an app's own exception
 * filter still sees them.
 *
 * @example
 * ```ts
 * @UseGuards(JwtAuthGuard)
 * @Get('me')
 * me(@CurrentUser() claims: AccessTokenClaims) { return claims; }
 * ```
 */
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly jwtRefresh: JwtRefresh,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<JwtRefreshRequest>();
    const role = this.reflector.getAllAndOverride<string | undefined>(JWT_REFRESH_ROLE, [context.getHandler(), context.getClass()]);
    try {
      const claims = await this.jwtRefresh.verifyRequest(request, role === undefined ? {} : { role });
      request.auth = { claims };
      return true;
    } catch (error) {
      const refused = errorParts(error, this.jwtRefresh.logger);
      // Content type and length are the exception filter's to write.
      for (const [name, value] of refused.headers) {
        if (name !== 'content-type' && name !== 'content-length') this.adapterHost.httpAdapter.setHeader(http.getResponse(), name, value);
      }
      throw new HttpException(JSON.parse(refused.body) as Record<string, unknown>, refused.status);
    }
  }
}

Inject(JWT_REFRESH)(JwtAuthGuard, undefined, 0);
Inject(Reflector)(JwtAuthGuard, undefined, 1);
Inject(HttpAdapterHost)(JwtAuthGuard, undefined, 2);
Injectable()(JwtAuthGuard);
