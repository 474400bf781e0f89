export * from './allocation';
export * from './dates';
export * from './errors';
export * from './events';
export * from './money';
export * from './payment-state';
export * from './types';
export * from './write-back';
