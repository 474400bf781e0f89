#!/usr/bin/env node

// `npm run bench` runs every benchmark; `npm run bench -- ingest` runs one. Benchmarks are compiled with the project.
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const dir = path.join(__dirname, '..', 'dist', 'bench');
if (!fs.existsSync(dir)) {
  console.error('bench: not built; run `npm run build` first');
  process.exit(1);
}
const all = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.replace(/\.bench\.js$/, ''));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : all;
let failed = 0;
for (const name of names) {
  if (!all.includes(name)) {
    console.error(`bench: no benchmark "${name}" (have: ${all.join(', ')})`);
    process.exit(2);
  }
  const r = spawnSync(
    process.execPath,
    [path.join(dir, `${name}.bench.js`), ...process.argv.slice(2).filter((a) => a.startsWith('-'))],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
