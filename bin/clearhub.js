#!/usr/bin/env node
'use strict';
// The CLI runs the compiled JavaScript (npm ci builds it through the `prepare` script).
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  console.error('clearhub: not built yet; run `npm run build` (npm ci does it for you)');
  process.exit(1);
}
require(entry).main();
