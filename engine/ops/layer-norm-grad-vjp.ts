/**
 * The VJP of layerNormGrad, by hand. The FTLE differentiates J·t through every LayerNorm of a transformer (reverse
 * over forward), and differentiating the op's composite reference recorded some fifteen primitive ops forward and
 * about thirty backward per LayerNorm; this rule is one layerNormGradGrad kernel where only x̄ and ḡ are wanted (the
 * FTLE's case), a few more for w̄ and the ōw, ōb rows.
 *
 * Per row, with x̂ = r·(x − μ), r = (σ² + eps)^(−1/2) and J = r·(I − 11ᵀ/d − x̂x̂ᵀ/d) (∂x̂/∂x, symmetric), the op
 * packs [J u; Σ_rows g ⊙ x̂; Σ_rows g] for u = g ⊙ w. For a cotangent [o; ōw; ōb]:
 *   ḡ = w ⊙ J o + ōw ⊙ x̂ + ōb,   w̄ = Σ_rows g ⊙ J o,
 *   x̄ = J (g ⊙ ōw) − (r/d)·(⟨o, J u⟩·x̂ + ⟨u, x̂⟩·J o + ⟨o, x̂⟩·J u).
 * The last term is ∂⟨o, J u⟩/∂x: ⟨o, J u⟩ = r·(⟨o, u⟩ − Σo·Σu/d − ⟨o, x̂⟩⟨u, x̂⟩/d), with ∂r/∂x = −r²x̂/d and
 * ∂⟨p, x̂⟩/∂x = J p, and r·(⟨o, u⟩ − Σo·Σu/d − ⟨o, x̂⟩⟨u, x̂⟩/d) is again ⟨o, J u⟩. J v is the op itself with unit
 * weight, J u is the output's first rows, and J (g ⊙ ōw) is the op with weight ōw. J o and the last term come from
 * one layerNormGradGrad kernel (its row statistics recompute J u). Every term is a differentiable op, so higher
 * derivatives compose.
 */
import { ones } from '../creation.js';
import { apply } from '../dispatch.js';
import type { Tensor } from '../tensor.js';
import { add, mul } from './binary.js';
import { layerNormGradGrad } from './layer-norm-grad-grad.js';
import { layerNorm } from './nn.js';
import { type OpCtx, wantsCotangent } from './op-def.js';
import { sum } from './reduce.js';
import { reshape, slice } from './views.js';
import { nonZeroRegion } from './zero-outside.js';

/**
 * Unit weights made by unitWeight: a layerNormGrad with one of them is J·g, and its VJP skips the two products
 * with w (u = g ⊙ w and ḡ's w ⊙ J o). Weak: the set never keeps a tensor alive.
 */
const unitWeights = new WeakSet<Tensor>();

/** A [d] vector of ones known to be one: the weight that makes layerNormGrad compute J·g (layerNorm's tangent rule). */
export function unitWeight(d: number, like: Tensor): Tensor {
  const w = ones([d], { dtype: like.dtype, backend: like.storage.backend.name });
  unitWeights.add(w);
  return w;
}

/** J·(g ⊙ w) per row of x2 [rows, d]: the dx rows of the fused op. */
function normalizedVjp(x2: Tensor, w: Tensor, g2: Tensor, eps: number): Tensor {
  const [rows, d] = x2.shape as [number, number];
  return slice(apply('layerNormGrad', [x2, w, g2], { eps }), [0, 0], [rows, d]);
}

export function layerNormGradVjp(cot: Tensor, c: OpCtx<'layerNormGrad'>): (Tensor | null)[] {
  const [x] = c.inputs as [Tensor];
  const d = x.shape[x.rank - 1]!;
  const rows = x.size / d;
  const o = slice(cot, [0, 0], [rows, d]);
  // the ōw and ōb rows, or null where they are known to be zero: only the dx rows were used (layerNorm's tangent
  // rule), and the cotangent is that slice's piece padded
  const stats = (nonZeroRegion(cot)?.ends[0] ?? rows + 2) <= rows ? null : [1, 2].map((i) => reshape(slice(cot, [rows + i - 1, 0], [rows + i, d]), [d]));
  return vjpFromRows(o, stats as [Tensor, Tensor] | null, c);
}

/**
 * The same for a cotangent that is the dx rows' piece alone (OpDef.vjpOfSlice: layerNorm's tangent rule uses the
 * packed output only through that slice): no zero ōw and ōb rows padded on and sliced off again. Other slices: null.
 */
export function layerNormGradVjpOfSlice(piece: { readonly g: Tensor; readonly starts: readonly number[]; readonly ends: readonly number[] }, c: OpCtx<'layerNormGrad'>): (Tensor | null)[] | null {
  const [x] = c.inputs as [Tensor];
  const d = x.shape[x.rank - 1]!;
  const rows = x.size / d;
  const dxRows = piece.starts[0] === 0 && piece.starts[1] === 0 && piece.ends[0] === rows && piece.ends[1] === d;
  return dxRows ? vjpFromRows(piece.g, null, c) : null;
}

/**
 * The VJP from o (the dx rows' cotangent, [rows, d]) and the ōw, ōb rows ([d] each; null: zero). With x̄ wanted, J o
 * and x̄'s curvature term come from one layerNormGradGrad kernel; without it, J o alone from layerNormGrad.
 */
function vjpFromRows(o: Tensor, stats: [Tensor, Tensor] | null, c: OpCtx<'layerNormGrad'>): (Tensor | null)[] {
  const [x, w, g] = c.inputs as [Tensor, Tensor, Tensor];
  const eps = c.attrs.eps;
  const d = x.shape[x.rank - 1]!;
  const rows = x.size / d;
  const x2 = reshape(x, [rows, d]);
  const g2 = reshape(g, [rows, d]);
  const unit = unitWeights.has(w);
  let jo: Tensor;
  let curvature: Tensor | null = null;
  if (wantsCotangent(c, 0)) {
    const both = layerNormGradGrad(x2, unit ? g2 : mul(g2, w), o, eps);
    jo = reshape(slice(both, [0, 0, 0], [1, rows, d]), [rows, d]);
    curvature = reshape(slice(both, [1, 0, 0], [2, rows, d]), [rows, d]);
  } else jo = normalizedVjp(x2, unit ? w : unitWeight(d, x), o, eps);
  let gBar: Tensor | null = null;
  if (wantsCotangent(c, 2)) {
    const wjo = unit ? jo : mul(jo, w);
    // ōw ⊙ x̂ + ōb is a LayerNorm of x with weight ōw and bias ōb: one kernel
    gBar = reshape(stats ? add(wjo, layerNorm(x2, stats[0]!, stats[1]!, eps)) : wjo, g.shape);
  }
  const wBar = wantsCotangent(c, 1) ? sum(mul(g2, jo), 0) : null;
  const xBar = curvature && reshape(stats ? add(normalizedVjp(x2, stats[0]!, g2, eps), curvature) : curvature, x.shape);
  return [xBar, wBar, gBar];
}
