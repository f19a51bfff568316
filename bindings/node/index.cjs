'use strict';
// CommonJS entry point. index.mjs re-exports this same module, so that ESM
// and CommonJS users share one logger and one loaded library.
module.exports = require('./lib/wsprune.cjs');
