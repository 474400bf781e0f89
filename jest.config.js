/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 60000,
  // Two workers on the CI's two cores (suites wait on PostgreSQL, SMTP and child processes as much as on CPU; each
  // suite has a database of its own), and a worker whose JavaScript heap grew past 1 GB is replaced after its file: in
  // one long-lived process the later suites ran up to 5x slower, and the whole suite took 24 minutes. (Jest measures
  // the heap only: PGlite's WebAssembly memory, 0.6-1.5 GB of a worker's RSS, does not count.)
  maxWorkers: 2,
  workerIdleMemoryLimit: '1GB',
  // Workers that ran PGlite suites hold a gigabyte or more when told to end, with nothing left open; giving it back to
  // the system takes 250-500 ms on this VM, past Jest's 500 ms default, which then kills them and warns of a leak
  // ("A worker process has failed to exit gracefully"). Checked suite by suite: no handle is left open.
  workerGracefulExitTimeout: 3000,
};
