// Host entry point of geluGrad (train-fused.cuh's GeluErfGradOp / GeluTanhGradOp and their Curvature ops through
// map_kernel), defined in launch.cu with the other launches.
#pragma once
#include <cstdint>

#include "launch.h"

namespace eitp {

// out (dense, n = numel(shape) elements) = g·gelu′(x) (order 1) or g·gelu″(x) (order 2), exact (erf) or, with
// tanh_approx, the tanh form's derivatives; x and g are strided views over `shape`.
void launch_gelu_grad(const Stream&, bool tanh_approx, int order, float* out, int64_t n, const Shape& shape, const Operand& x, const Operand& g);

}  // namespace eitp
