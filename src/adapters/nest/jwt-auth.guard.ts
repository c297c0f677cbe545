import { HttpException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { IncomingHttpHeaders } from 'node:http';
import type { JwtRefresh } from '../../create-jwt-refresh.js';
import { toCoreRequest } from '../../http/response-parts.js';
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
    const result = await this.jwtRefresh.authenticate(toCoreRequest('GET', request.url, request.headers, null), role === undefined ? {} : { role });
    if ('claims' in result) {
      request.auth = { claims: result.claims };
      return true;
    }
    const { response } = result;
    // Content type and length are the exception filter's to write.
    response.headers.forEach((value, name) => {
      if (name !== 'content-type' && name !== 'content-length') this.adapterHost.httpAdapter.setHeader(http.getResponse(), name, value);
    });
    throw new HttpException((await response.json()) as Record<string, unknown>, response.status);
  }
}

Inject(JWT_REFRESH)(JwtAuthGuard, undefined, 0);
Inject(Reflector)(JwtAuthGuard, undefined, 1);
Inject(HttpAdapterHost)(JwtAuthGuard, undefined, 2);
Injectable()(JwtAuthGuard);
