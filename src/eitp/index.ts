/** EIT-P terms (EITP-SPEC), built from engine ops: each differentiable in reverse and forward mode. */
export * from './objective-api.js';
export * from './entropy.js';
export * from './temperature.js';
export * from './thermo.js';
export * from './chaos.js';
export * from './coherence.js';
export * from './fidelity.js';
export * from './path-norm.js';
export * from './iem.js';
export * from './objective.js';
export { seededSubset, clearSubsetCache } from './subset.js';
export { assertFiniteWeights, type NamedParameters } from './finite.js';
export { readEitpReport, type EitpReport } from './report.js';
export { checkConfig } from './config.js';
