#!/usr/bin/env node
/**
 * Builds the CUDA backend's addons in the cmake-js build directory, after the native addon: eitp_cuda_emu (the
 * kernels under the CPU emulator, g++ only) and, where nvcc was found, eitp_cuda (real GPU kernels). They are
 * separate targets outside `all` (cuda/cuda.cmake), each built by its own cmake invocation, so a CUDA failure never
 * affects the native addon, and one CUDA target's failure never affects the other.
 * Never fails `npm install` unless --strict is given: a target that cannot be built leaves the cuda backend
 * unavailable with the reason. EITP_SKIP_CUDA=1 skips it; EITP_BUILD_JOBS sets the parallelism (default 2).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Once the root CMakeLists.txt includes cuda/cuda.cmake, the CUDA targets live in cmake-js's build directory;
// until then, the stand-alone project cuda/dev builds them into build/cuda (the engine looks in both).
const rootCmake = join(root, 'CMakeLists.txt');
const included = existsSync(rootCmake) && /^\s*include\([^)#]*cuda\/cuda\.cmake/m.test(readFileSync(rootCmake, 'utf8'));
const build = process.env.EITP_CUDA_BUILD_DIR ?? join(root, 'build', included ? '' : 'cuda');
const strict = process.argv.includes('--strict');
const jobs = process.env.EITP_BUILD_JOBS ?? '2';

function warn(msg) {
  console.warn(`[eitp] ${msg}`);
}

if (process.env.EITP_SKIP_CUDA === '1') {
  console.log('[eitp] EITP_SKIP_CUDA=1: skipping the CUDA addons');
  process.exit(0);
}

const cache = join(build, 'CMakeCache.txt');
if (!existsSync(cache)) {
  if (!included) {
    const r = spawnSync('cmake', ['-S', join(root, 'cuda', 'dev'), '-B', build, '-DCMAKE_BUILD_TYPE=Release'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0 || !existsSync(cache)) {
      warn('CUDA addons not built: cmake could not configure cuda/dev (is cmake >= 3.18 installed?)');
      process.exit(strict ? 1 : 0);
    }
  }
}
if (!existsSync(cache)) {
  // Nothing configured yet (the native build normally does this): configure with cmake-js, as it would.
  let cli;
  try {
    cli = createRequire(join(root, 'package.json')).resolve('cmake-js/bin/cmake-js');
  } catch {
    warn('CUDA addons not built: the cmake-js package is not installed');
    process.exit(strict ? 1 : 0);
  }
  const r = spawnSync(process.execPath, [cli, 'configure', '--out', build], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(cache)) {
    warn('CUDA addons not built: cmake-js configure failed');
    process.exit(strict ? 1 : 0);
  }
}

const cacheText = readFileSync(cache, 'utf8');
const nvcc = /^CMAKE_CUDA_COMPILER:[A-Z]+=(.+)$/m.exec(cacheText)?.[1];
const targets = ['eitp_cuda_emu'];
if (nvcc && !nvcc.endsWith('NOTFOUND')) targets.push('eitp_cuda');
else console.log('[eitp] no CUDA compiler: building only the emulated CUDA addon (eitp_cuda_emu)');

let failed = 0;
for (const target of targets) {
  const r = spawnSync('cmake', ['--build', build, '--config', 'Release', '--target', target, '--parallel', jobs], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    warn(`${target} failed to build; the cuda backend${target === 'eitp_cuda' ? ' (GPU)' : ' (emulated)'} will be unavailable`);
  }
}
process.exit(strict && failed ? 1 : 0);
