// Host entry points of the fused FTLE tanh step (cuda/tanh-jvp-step.cuh), defined in launch-eitp.cu with the other
// fused EIT-P launches. h [B, out], w [out, in] and gy [B, out + 1] are dense; v [B, in] is read through its strides
// (element (b, k) at v[b·v_rs + k·v_cs]), so the previous step's direction view needs no copy.
#pragma once
#include <cstdint>

#include "launch.h"

namespace eitp {

// y [B, out + 1] = [δ/‖δ‖ | ln‖δ‖] per row, δ = (1 − h²) ⊙ (v Wᵀ).
void launch_tanh_jvp_step(const Stream&, float* y, const float* h, const float* v, int64_t v_rs, int64_t v_cs, const float* w, int64_t batch, int64_t out_f, int64_t in_f);
// z [2, B, out] = [dp; dh], tanhJvpStep's backward for the cotangent gy.
void launch_tanh_jvp_step_grad(const Stream&, float* z, const float* h, const float* v, int64_t v_rs, int64_t v_cs, const float* w, const float* gy, int64_t batch, int64_t out_f,
                               int64_t in_f);

}  // namespace eitp
