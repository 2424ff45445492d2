/**
 * tfjs-core with its cpu and wasm backends, the JS peers of the bench scripts (imported, so bench/run.ts does not run
 * this file on its own). Backends that do not load here are listed in `missing` with the reason.
 */
import { createRequire } from 'node:module';

export type Tf = typeof import('@tensorflow/tfjs-core');

export async function loadTf(): Promise<{ tf: Tf; backends: string[]; missing: string[] } | null> {
  let tf: Tf;
  try {
    tf = (await import('@tensorflow/tfjs-core')) as Tf;
    // tfjs-core's Node bundle has no gradient functions; its ESM build registers them into the same global registry
    // (required through tsx, which resolves the build's extensionless imports)
    createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  } catch (e) {
    console.log(`not measured: tfjs (${(e as Error).message.split('\n')[0]})`);
    return null;
  }
  const backends: string[] = [];
  const missing: string[] = [];
  const warn = console.warn;
  console.warn = () => {};
  try {
    for (const [name, pkg] of [['cpu', '@tensorflow/tfjs-backend-cpu'], ['wasm', '@tensorflow/tfjs-backend-wasm']] as const) {
      try {
        await import(pkg);
        if (await tf.setBackend(name)) backends.push(name);
        else missing.push(`tfjs ${name}: setBackend failed`);
      } catch (e) {
        missing.push(`tfjs ${name}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    console.warn = warn;
  }
  return { tf, backends, missing };
}
