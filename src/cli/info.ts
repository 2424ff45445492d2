/** `eitp info`: which backends run here and, for each one that does not, why. */
import * as et from '../../engine/index.js';

export async function printInfo(out: (line: string) => void = console.log): Promise<void> {
  // webgpu needs an async adapter request before it can say whether it runs here
  await et.initWebGPU();
  out(`eitp on node ${process.version} (${process.platform}-${process.arch})`);
  out('');
  out('backend  available  detail');
  for (const b of et.backendInfo()) {
    out(`${b.name.padEnd(8)} ${(b.available ? 'yes' : 'no').padEnd(10)} ${b.available ? b.detail ?? '' : b.reason ?? ''}`.trimEnd());
  }
  out('');
  out('kernel coverage (ops with a kernel / ops that need one):');
  for (const c of et.kernelCoverage()) {
    const have = c.total - c.missing.length;
    out(`  ${c.backend.padEnd(8)} ${have}/${c.total} (${((100 * have) / c.total).toFixed(0)} %)${c.missing.length ? `  missing: ${c.missing.join(', ')}` : ''}`);
  }
  out('');
  out(`default backend ('auto'): ${et.getBackend()}`);
  et.destroyWebGPU();
}
