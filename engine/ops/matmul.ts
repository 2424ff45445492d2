/** Matrix product. The op takes equal batch dims (rank >= 2); the public function handles 1-D operands and batch broadcasting like torch.matmul. */
import { tensorArg } from '../args.js';
import { apply } from '../dispatch.js';
import { DTypeError, ShapeError } from '../errors.js';
import { opScope } from '../memory.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add } from './binary.js';
import { ctx, meta, requireFloat, requireSameDtype } from './infer.js';
import { type OpDef, wantsCotangent } from './op-def.js';
import { cast, expand, reshape, squeeze, transpose, unsqueeze } from './views.js';

export const matmulDefs = {
  matmul: {
    arity: 2,
    infer: (inputs) => {
      const [a, b] = inputs as [Tensor, Tensor];
      const half = a.dtype === 'f16' || b.dtype === 'f16';
      if (half && a.dtype !== b.dtype) {
        throw new DTypeError("f16 storage multiplies f16 by f16 (into f32); cast the other operand with cast(x, 'f16'), or both to f32", ctx('matmul', inputs));
      }
      if (!half) {
        requireSameDtype('matmul', inputs);
        requireFloat('matmul', inputs);
      }
      const ok = a.rank >= 2 && sameBatch(a, b) && a.shape[a.rank - 1] === b.shape[b.rank - 2];
      if (!ok) throw new ShapeError('inner dimensions or batch dimensions do not match', ctx('matmul', inputs));
      // f16 operands: f16 storage, f32 accumulation, f32 result
      return meta([...a.shape.slice(0, -1), b.shape[b.rank - 1]!], half ? 'f32' : a.dtype);
    },
    // Only the cotangents that are needed (a data batch needs none). When an operand is a transposed view (Linear's
    // Wᵀ), its cotangent is computed as (gᵀ·a)ᵀ so that, after the transpose's own VJP, it arrives dense.
    vjp: (g, c) => {
      const [a, b] = c.inputs as [Tensor, Tensor];
      const want: Wanted = [wantsCotangent(c, 0), wantsCotangent(c, 1)];
      return a.dtype === 'f16' ? halfCotangents(g, a, b, want) : matmulCotangents(g, a, b, want);
    },
    jvp: ([ta, tb], { inputs: [a, b] }) => {
      if (ta && tb) return add(mm(ta, b!), mm(a!, tb));
      return ta ? mm(ta, b!) : mm(a!, tb!);
    },
  },
} satisfies { matmul: OpDef<'matmul'> };

const mm = (a: Tensor, b: Tensor): Tensor => apply('matmul', [a, b], {});

/** Equal ranks and equal batch (leading) dimensions. */
function sameBatch(a: Tensor, b: Tensor): boolean {
  if (a.rank !== b.rank) return false;
  for (let i = 0; i < a.rank - 2; i++) if (a.shape[i] !== b.shape[i]) return false;
  return true;
}

/** Which of the two operands' cotangents a VJP must compute (OpCtx.wanted). */
export type Wanted = readonly [boolean, boolean];

/** The cotangents of a·b for g, only the wanted ones (shared with the fused linear op). */
export function matmulCotangents(g: Tensor, a: Tensor, b: Tensor, [wantA, wantB]: Wanted): [Tensor | null, Tensor | null] {
  return [
    wantA ? (isTransposedView(a) ? transpose(mm(b, transpose(g))) : mm(g, transpose(b))) : null,
    wantB ? (isTransposedView(b) ? transpose(mm(transpose(g), a)) : mm(transpose(a), g)) : null,
  ];
}

/**
 * The cotangents of f16 operands: computed in f32 from the operands' exact f32 values and the f32 g, then rounded to
 * f16, the operands' dtype. Through cast(w, 'f16') they widen again, so f32 master weights train (mixed precision).
 */
function halfCotangents(g: Tensor, a: Tensor, b: Tensor, [wantA, wantB]: Wanted): [Tensor | null, Tensor | null] {
  const wide = (t: Tensor): Tensor => cast(t, 'f32');
  return [wantA ? cast(mm(g, transpose(wide(b))), 'f16') : null, wantB ? cast(mm(transpose(wide(a)), g), 'f16') : null];
}

/**
 * A matrix read down its columns: its rows axis has stride 1 and its columns lie at least a column apart (a transpose
 * of dense data, or of a slice of it: attention's kᵀ with k a slice of the qkv projection, whose columns are 3d
 * apart). Its cotangent is computed as the transpose of a dense product, so it arrives in the operand's own layout
 * (dense along the stride-1 axis) and what reads it next (the projection's concat) copies rows, not single elements.
 */
function isTransposedView(t: Tensor): boolean {
  const r = t.rank;
  const [rows, cols] = [t.shape[r - 2]!, t.shape[r - 1]!];
  return rows > 1 && cols > 1 && t.strides[r - 2] === 1 && t.strides[r - 1]! >= rows;
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  tensorArg(a, 'matmul', 'a');
  tensorArg(b, 'matmul', 'b');
  if (a.rank === 0 || b.rank === 0) throw new ShapeError('matmul needs operands of rank >= 1', ctx('matmul', [a, b]));
  if (a.rank >= 2 && b.rank >= 2 && sameBatch(a, b)) return mm(a, b);
  // views around one product: their scope frees them unless the result is recorded
  return opScope(() => viewedMatmul(a, b));
}

function viewedMatmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 1 && b.rank === 1) return reshape(viewedMatmul(unsqueeze(a, 0), unsqueeze(b, 1)), []);
  if (a.rank === 1) return squeeze(viewedMatmul(unsqueeze(a, 0), b), -2);
  if (b.rank === 1) return squeeze(viewedMatmul(a, unsqueeze(b, 1)), -1);
  const k = a.shape[a.rank - 1]!;
  if (k !== b.shape[b.rank - 2]) throw new ShapeError('inner dimensions do not match', ctx('matmul', [a, b]));
  if (a.rank > 2 && b.rank === 2) {
    // Fold the batch into rows: one large product instead of many small ones.
    const rows = reshape(a, [-1, k]);
    return reshape(mm(rows, b), [...a.shape.slice(0, -1), b.shape[1]!]);
  }
  if (sameBatch(a, b)) return mm(a, b);
  const batch = broadcastShapes([a.shape.slice(0, -2), b.shape.slice(0, -2)], 'matmul');
  const ae = expand(a, [...batch, ...a.shape.slice(-2)]);
  const be = expand(b, [...batch, ...b.shape.slice(-2)]);
  return mm(ae, be);
}
