#!/usr/bin/env node
'use strict';
require('../dist/src/client/main.js')
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`autossl: ${err && err.message ? err.message : err}\n`);
      process.exitCode = 3;
    },
  );
