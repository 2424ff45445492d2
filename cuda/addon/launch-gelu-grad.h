// Host entry point of geluGrad (train-fused.cuh's GeluErfGradOp / GeluTanhGradOp through map_kernel), defined in
// launch.cu with the other launches.
#pragma once
#include <cstdint>

#include "launch.h"

namespace eitp {

// out (dense, n = numel(shape) elements) = g·gelu′(x), exact (erf) or, with tanh_approx, the tanh form's derivative;
// x and g are strided views over `shape`.
void launch_gelu_grad(const Stream&, bool tanh_approx, float* out, int64_t n, const Shape& shape, const Operand& x, const Operand& g);

}  // namespace eitp
