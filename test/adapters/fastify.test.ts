import { runHttpFeatureConformance } from '../conformance/http-features.suite.js';
import { runHttpConformance } from '../conformance/http.suite.js';
import { fastifyDriver } from '../support/fastify-driver.js';

runHttpConformance(fastifyDriver);
runHttpFeatureConformance(fastifyDriver);
