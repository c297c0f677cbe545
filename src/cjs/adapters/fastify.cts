// require('jwt-refresh/fastify'): the ES module itself, loaded through require(esm) (Node >= 20.19), so CommonJS
// and ESM callers share one module instance. This file exists for CommonJS type resolution.
import entry = require('../../adapters/fastify.js');
export = entry;
