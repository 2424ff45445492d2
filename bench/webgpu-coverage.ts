/** Prints the webgpu coverage table, generated from the op table (no device needed): npx tsx bench/webgpu-coverage.ts */
import '../engine/index.js';
import { formatCoverage, webgpuCoverage } from '../engine/backends/webgpu/coverage.js';

console.log(formatCoverage());
process.exitCode = webgpuCoverage().percent === 100 ? 0 : 1;
