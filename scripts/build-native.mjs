#!/usr/bin/env node
/**
 * Builds the native addon (build/Release/eitp_native.node) with cmake-js. Runs on `npm install`/`npm ci` and must
 * never fail them: without cmake or a C++ compiler the native backend is simply unavailable (with this reason) and
 * the cpu backend still works. Set EITP_SKIP_NATIVE=1 to skip the build. `npm run build:native` builds directly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');

function give_up(reason) {
  console.warn(`[eitp] native addon not built: ${reason}`);
  console.warn('[eitp] the native backend will be unavailable; the cpu backend still works. Retry with: npm run build:native');
  process.exit(strict ? 1 : 0);
}

if (process.env.EITP_SKIP_NATIVE === '1') {
  console.log('[eitp] EITP_SKIP_NATIVE=1: skipping the native addon build');
  process.exit(0);
}
if (!existsSync(join(root, 'CMakeLists.txt'))) give_up('CMakeLists.txt is missing from the package');

const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
if (cmake.error || cmake.status !== 0) give_up('cmake was not found on PATH (install cmake >= 3.18)');

let cli;
try {
  cli = createRequire(join(root, 'package.json')).resolve('cmake-js/bin/cmake-js');
} catch {
  give_up('the cmake-js package is not installed');
}

// Two parallel jobs: enough for the few sources, gentle on small shared machines.
const jobs = process.env.EITP_BUILD_JOBS ?? '2';
const r = spawnSync(process.execPath, [cli, 'compile', '--parallel', jobs], { cwd: root, stdio: 'inherit' });
if (r.error) give_up(r.error.message);
if (r.status !== 0) give_up(`cmake-js exited with status ${r.status} (see the compiler output above)`);
if (!existsSync(join(root, 'build/Release/eitp_native.node'))) give_up('the build finished but build/Release/eitp_native.node is missing');
console.log('[eitp] native addon built: build/Release/eitp_native.node');
