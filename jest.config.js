/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 60000,
  // Two workers on the CI's two cores (suites wait on PostgreSQL, SMTP and child processes as much as on CPU; each
  // suite has a database of its own), and a worker that grew past 1 GB (PGlite instances, Chromium) is replaced after
  // its file: in one long-lived process the later suites ran up to 5x slower, and the whole suite took 24 minutes.
  maxWorkers: 2,
  workerIdleMemoryLimit: '1GB',
};
