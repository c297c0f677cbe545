import { runHttpFeatureConformance } from '../conformance/http-features.suite.js';
import { runHttpConformance } from '../conformance/http.suite.js';
import { honoDriver } from '../support/hono-driver.js';

runHttpConformance(honoDriver);
runHttpFeatureConformance(honoDriver);
