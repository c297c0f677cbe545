import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { CurrentUser, JwtAuthGuard, JwtRefreshModule, Roles, createJwtRefreshController } from '../../src/adapters/nest/index.js';
import { createJwtRefresh } from '../../src/create-jwt-refresh.js';
import { runHttpFeatureConformance } from '../conformance/http-features.suite.js';
import { runHttpConformance } from '../conformance/http.suite.js';
import { testOptions } from '../support/app-options.js';
import { nestDriver } from '../support/nest-driver.js';
import { requestOverHttp } from '../support/test-request.js';

runHttpConformance(nestDriver({ routes: 'module' }));
runHttpConformance(nestDriver({ routes: 'controller' }));
runHttpFeatureConformance(nestDriver({ routes: 'module' }));
runHttpFeatureConformance(nestDriver({ routes: 'controller' }));
runHttpConformance(nestDriver({ routes: 'module', platform: 'fastify' }));
runHttpFeatureConformance(nestDriver({ routes: 'module', platform: 'fastify' }));

class AdminController {
  username(username: unknown) {
    return { username };
  }
}
const admin = AdminController.prototype;
Get('username')(admin, 'username', Object.getOwnPropertyDescriptor(admin, 'username')!);
CurrentUser('username')(admin, 'username', 0);
Roles('ROLE_ADMIN')(AdminController);
Controller('admin')(AdminController);

describe('nest module', () => {
  it.each(['express', 'fastify'] as const)(
    'serves the token routes at their paths, outside a global prefix and a global JwtAuthGuard (%s)',
    async (platform) => {
      const jwtRefresh = await createJwtRefresh((await testOptions()).options);
      class AppModule {}
      Module({ imports: [JwtRefreshModule.forRoot({ jwtRefresh })], controllers: [AdminController] })(AppModule);
      const adapter = platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
      const app = await NestFactory.create(AppModule, adapter, { logger: false });
      app.setGlobalPrefix('v1');
      app.useGlobalGuards(app.get(JwtAuthGuard));
      await app.listen(0, '127.0.0.1');
      try {
        const request = requestOverHttp(`http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`);
        const login = (username: string) => request('/api/login_check', { json: { username, password: 'secret-password' } });
        const bob = (await login('bob')).body as { token: string };
        const alice = (await login('alice')).body as { token: string };
        const asBob = await request('/v1/admin/username', { method: 'GET', headers: { authorization: `Bearer ${bob.token}` } });
        expect(asBob.body).toEqual({ username: 'bob' });
        const asAlice = await request('/v1/admin/username', { method: 'GET', headers: { authorization: `Bearer ${alice.token}` } });
        expect(asAlice.status).toBe(403);
        expect(asAlice.body).toEqual({ code: 403, message: 'Access Denied.' });
      } finally {
        await app.close();
      }
    },
  );
});

describe('nest controller', () => {
  it("serves the token routes under the app's global prefix and hands the core that prefix as basePath", async () => {
    const jwtRefresh = await createJwtRefresh((await testOptions()).options);
    class AppModule {}
    Module({
      imports: [JwtRefreshModule.forRoot({ jwtRefresh, serveRoutes: false })],
      controllers: [createJwtRefreshController(jwtRefresh.routes)],
    })(AppModule);
    const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
    app.setGlobalPrefix('v1');
    await app.listen(0, '127.0.0.1');
    const handleToParts = vi.spyOn(jwtRefresh, 'handleToParts');
    try {
      const request = requestOverHttp(`http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`);
      const credentials = { json: { username: 'alice', password: 'secret-password' } };
      expect((await request('/v1/api/login_check', credentials)).status).toBe(200);
      expect((await request('/v1/api/login_check/', credentials)).status).toBe(200);
      expect(handleToParts.mock.calls.map(([coreRequest, info]) => [new URL(coreRequest.url).pathname, info?.basePath])).toEqual([
        ['/api/login_check', '/v1'],
        ['/api/login_check', '/v1'],
      ]);
    } finally {
      await app.close();
    }
  });
});
