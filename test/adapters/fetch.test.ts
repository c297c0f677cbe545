import { describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../src/adapters/fetch.js';
import { createJwtRefresh } from '../../src/create-jwt-refresh.js';
import { testOptions } from '../support/app-options.js';
import { runHttpFeatureConformance } from '../conformance/http-features.suite.js';
import { runHttpConformance } from '../conformance/http.suite.js';
import { fetchDriver } from '../support/fetch-driver.js';

runHttpConformance(fetchDriver);
runHttpFeatureConformance(fetchDriver);

describe('fetch: rate limits without a client address', () => {
  it('counts every address-less client in one bucket instead of going unlimited', async () => {
    const jwtRefresh = await createJwtRefresh((await testOptions({ rateLimit: { enabled: true, login: 2 } })).options);
    const handler = createFetchHandler(jwtRefresh);
    const login = () =>
      handler.handle(
        new Request('http://localhost/api/login_check', { method: 'POST', body: JSON.stringify({ username: 'alice', password: 'wrong' }) }),
      );
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await login())!.status);
    expect(statuses).toEqual([401, 401, 429]);
  });
});
