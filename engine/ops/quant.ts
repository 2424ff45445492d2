/**
 * Quantised inference: x · (wq·ws)ᵀ with int8 weights wq [N, K] and per-output-channel scales ws [N] (EITP-SPEC
 * "Compression"). Activations stay f32, or are quantised per row on the fly ('int8': symmetric, absmax/127,
 * round half to even) so the inner products run in exact 32-bit integer arithmetic. The gradient reaches x
 * straight through the quantisation (and ws); the int8 weights carry none.
 */
import { optionsArg } from '../args.js';
import { apply } from '../dispatch.js';
import { DTypeError, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { add, mul } from './binary.js';
import { ctx, meta, requireFloat } from './infer.js';
import { matmul } from './matmul.js';
import { type OpDef, wantsCotangent } from './op-def.js';
import { sum } from './reduce.js';
import { cast, reshape, transpose } from './views.js';

/** wq·ws as a float [N, K] matrix. */
function dequantized(wq: Tensor, ws: Tensor, dtype: Tensor['dtype']): Tensor {
  return mul(cast(wq, dtype), reshape(ws, [ws.size, 1]));
}

const leading = (g: Tensor) => Array.from({ length: g.rank - 1 }, (_, i) => i);

export const quantDefs = {
  matmulInt8: {
    arity: 3,
    infer: (inputs) => {
      const [x, wq, ws] = inputs as [Tensor, Tensor, Tensor];
      requireFloat('matmulInt8', inputs, 0, 2);
      if (wq.dtype !== 'i8') throw new DTypeError('weights must be an i8 tensor (quantise them first)', ctx('matmulInt8', inputs));
      if (ws.dtype !== x.dtype) throw new DTypeError('scales must have the dtype of x', ctx('matmulInt8', inputs));
      const ok = x.rank >= 1 && wq.rank === 2 && ws.rank === 1 && wq.shape[1] === x.shape[x.rank - 1] && ws.shape[0] === wq.shape[0];
      if (!ok) throw new ShapeError('needs x [..., K], int8 weights [N, K] (one row per output channel) and scales [N]', ctx('matmulInt8', inputs));
      return meta([...x.shape.slice(0, -1), wq.shape[0]!], x.dtype);
    },
    vjp: (g, c) => {
      const [x, wq, ws] = c.inputs;
      return [
        wantsCotangent(c, 0) ? matmul(g, dequantized(wq!, ws!, g.dtype)) : null,
        null,
        wantsCotangent(c, 2) ? sum(mul(g, matmul(x!, transpose(cast(wq!, g.dtype)))), leading(g)) : null,
      ];
    },
    // Straight through, like the VJP: the tangent of x (and of ws) through the dequantised weights.
    jvp: ([tx, , tws], { inputs: [x, wq, ws] }) => {
      const viaX = tx ? matmul(tx, transpose(dequantized(wq!, ws!, tx.dtype))) : null;
      const viaScales = tws ? mul(matmul(x!, transpose(cast(wq!, tws.dtype))), tws) : null;
      return viaX && viaScales ? add(viaX, viaScales) : (viaX ?? viaScales)!;
    },
  },
} satisfies { matmulInt8: OpDef<'matmulInt8'> };

/** x [..., K] · (wq·ws)ᵀ → [..., N]; `activations: 'int8'` quantises each row of x dynamically. */
export function matmulInt8(x: Tensor, wq: Tensor, ws: Tensor, opts: { activations?: 'f32' | 'int8' } = {}): Tensor {
  return apply('matmulInt8', [x, wq, ws], { activations: optionsArg(opts, 'matmulInt8').activations ?? 'f32' });
}
