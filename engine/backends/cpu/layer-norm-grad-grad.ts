/**
 * layerNormGradGrad on the host, in float64 (the reference): per row μ and r (rowMoments, as layerNorm), then the
 * sums Σo, Σu, ⟨o, x̂⟩, ⟨u, x̂⟩, ⟨o, u⟩, from which J o = r·(o − Σo/d − x̂·⟨o, x̂⟩/d), J u likewise,
 * ⟨o, J u⟩ = r·(⟨o, u⟩ − Σo·Σu/d − ⟨o, x̂⟩⟨u, x̂⟩/d) and the curvature row
 * −(r/d)·(⟨o, J u⟩·x̂ + ⟨u, x̂⟩·J o + ⟨o, x̂⟩·J u).
 */
import type { Kernel } from '../../backend.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { rowMoments } from './nn.js';
import { dense, out } from './strided.js';

export const layerNormGradGradKernels = {
  layerNormGradGrad: (([x, u, o], result, { eps }) => {
    const shape = x!.layout.shape;
    const d = shape[shape.length - 1]!;
    const xv = dense(x!);
    const uv = dense(u!);
    const ov = dense(o!);
    const r = out(result);
    const rows = xv.length / d;
    const xhat = new Float64Array(d);
    for (let i = 0; i < rows; i++) {
      const s = i * d;
      const { mu, rstd } = rowMoments(xv, s, d, eps);
      let so = 0;
      let su = 0;
      let sox = 0;
      let sux = 0;
      let sou = 0;
      for (let j = 0; j < d; j++) {
        xhat[j] = (xv[s + j]! - mu) * rstd;
        const oj = ov[s + j]!;
        const uj = uv[s + j]!;
        so += oj;
        su += uj;
        sox += oj * xhat[j]!;
        sux += uj * xhat[j]!;
        sou += oj * uj;
      }
      const oJu = rstd * (sou - (so * su) / d - (sox * sux) / d);
      const c = -rstd / d;
      for (let j = 0; j < d; j++) {
        const jo = rstd * (ov[s + j]! - so / d - (xhat[j]! * sox) / d);
        const ju = rstd * (uv[s + j]! - su / d - (xhat[j]! * sux) / d);
        r[s + j] = jo;
        r[rows * d + s + j] = c * (oJu * xhat[j]! + sux * jo + sox * ju);
      }
    }
  }) as Kernel<'layerNormGradGrad', CpuBuffer>,
};
