export { type CompiledCondition, type CompileOptions, compileCondition, divHalfUp } from './compile';
export { RuleError } from './errors';
export * from './facts';
export { type Node, parse } from './parser';
export { type Token, tokenize } from './tokenizer';
