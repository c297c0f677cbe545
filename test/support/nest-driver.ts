import 'reflect-metadata';
import { Controller, Get, Module, UseGuards, type NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { CurrentUser, JwtAuthGuard, JwtRefreshModule, Roles, createJwtRefreshController } from '../../src/adapters/nest/index.js';
import { createJwtRefresh } from '../../src/create-jwt-refresh.js';
import type { AccessTokenClaims } from '../../src/jwt/build-claims.js';
import type { HttpDriver } from './http-driver.js';
import { requestOverHttp } from './test-request.js';

// Decorators applied as calls: the test tsconfig has no experimentalDecorators.
class ApiController {
  me(claims: AccessTokenClaims) {
    return claims;
  }

  admin() {
    return { ok: true };
  }
}
const api = ApiController.prototype;
Get('me')(api, 'me', Object.getOwnPropertyDescriptor(api, 'me')!);
CurrentUser()(api, 'me', 0);
Get('admin')(api, 'admin', Object.getOwnPropertyDescriptor(api, 'admin')!);
Roles('ROLE_ADMIN')(api, 'admin', Object.getOwnPropertyDescriptor(api, 'admin')!);
UseGuards(JwtAuthGuard)(ApiController);
Controller('api')(ApiController);

/**
 * Runs JwtRefreshModule in a Nest app on the Express (default) or Fastify platform, on a real socket.
 * `routes: 'module'` (forRoot) serves the routes through the module, with Nest's
 * default body parser in front; `routes: 'controller'` (forRootAsync) serves them
 * through createJwtRefreshController, with the body parser off (Express only).
 */
export function nestDriver({
  routes,
  platform = 'express',
}: {
  routes: 'module' | 'controller';
  platform?: 'express' | 'fastify';
}): HttpDriver {
  return {
    name: `nest (${platform}, routes by ${routes})`,
    async start(options) {
      const jwtRefresh = await createJwtRefresh(options);
      class AppModule {}
      const appOptions: NestApplicationOptions = { logger: false };
      if (routes === 'module') {
        Module({ imports: [JwtRefreshModule.forRoot({ jwtRefresh })], controllers: [ApiController] })(AppModule);
      } else {
        appOptions.bodyParser = false;
        Module({
          imports: [JwtRefreshModule.forRootAsync({ useFactory: async () => ({ jwtRefresh, serveRoutes: false }) })],
          controllers: [createJwtRefreshController(jwtRefresh.routes), ApiController],
        })(AppModule);
      }
      const app = await NestFactory.create(AppModule, platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), appOptions);
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as AddressInfo;
      const origin = `http://127.0.0.1:${port}`;
      return { jwtRefresh, request: requestOverHttp(origin), origin, close: () => app.close() };
    },
  };
}
