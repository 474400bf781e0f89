export * from './db';
export * from './events';
export * from './ingest';
export type * from './schema';
