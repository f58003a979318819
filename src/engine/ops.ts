/** The op vocabulary models are written in. Importing this also registers every gradient rule. */
export * from './ops/elementwise.js';
export * from './ops/reduce.js';
export * from './ops/shape.js';
export * from './ops/matmul.js';
export * from './ops/conv.js';
export * from './ops/pooling.js';
export * from './ops/softmax.js';
export * from './ops/batchnorm.js';
export { expectShape, expectLastDim } from './graph.js';
export * from './ops/collective.js';
