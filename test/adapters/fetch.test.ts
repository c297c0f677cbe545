import { runHttpFeatureConformance } from '../conformance/http-features.suite.js';
import { runHttpConformance } from '../conformance/http.suite.js';
import { fetchDriver } from '../support/fetch-driver.js';

runHttpConformance(fetchDriver);
runHttpFeatureConformance(fetchDriver);
