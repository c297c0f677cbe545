// require('jwt-refresh/gesdinet-import'): the ES module itself, loaded through require(esm) (Node >= 20.19), so CommonJS
// and ESM callers share one module instance. This file exists for CommonJS type resolution.
import entry = require('../../gesdinet-import/index.js');
export = entry;
