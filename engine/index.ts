/**
 * The engine's public API: `import * as et from 'eitp/engine'`.
 */
export * from './core.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
