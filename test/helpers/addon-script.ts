/**
 * The start of a script that a test runs in a fresh process to call the native addon directly (kernels are chosen
 * once, at load, so each EITP_SIMD / EITP_THREADS setting needs its own process): it loads the addon as `a` and
 * defines run(op, inputs, outShape, attrs), where each input is [Float32Array data, shape, strides, offset = 0] and
 * the result is the output's values.
 */
import { ADDON_FILE } from '../../engine/backends/native/native-addon.js';

export const ADDON_SCRIPT_PRELUDE = `
  const a = require(${JSON.stringify(`${process.cwd()}/${ADDON_FILE}`)});
  const put = (data) => { const h = a.alloc(4 * data.length); a.write(h, data); return h; };
  const run = (op, inputs, outShape, attrs) => {
    const meta = [inputs.length];
    for (const [, shape, strides, offset = 0] of inputs) meta.push(0, shape.length, offset, ...shape, ...strides);
    meta.push(0, outShape.length, ...outShape);
    const handles = inputs.map(([data]) => put(data));
    const numel = outShape.reduce((p, d) => p * d, 1);
    const out = a.alloc(4 * numel);
    a.run(op, [...handles, out], new Float64Array(meta), new Float64Array(attrs));
    const r = new Float32Array(a.readSync(out, 4 * numel));
    for (const h of [...handles, out]) a.free(h);
    return r;
  };
`;
