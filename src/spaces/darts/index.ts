/** The DARTS cell search space: genotypes, samplers and the evaluation network. */
export * from './genotype.js';
export * from './sampling.js';
export * from './network.js';
