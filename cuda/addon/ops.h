// The kernel bindings of ops.cc, registered by addon.cc.
#pragma once
#include <napi.h>

namespace eitp {
void op_unary(const Napi::CallbackInfo& info);
void op_binary(const Napi::CallbackInfo& info);
void op_where(const Napi::CallbackInfo& info);
void op_cast(const Napi::CallbackInfo& info);
void op_copy(const Napi::CallbackInfo& info);
void op_reduce(const Napi::CallbackInfo& info);
void op_argmax(const Napi::CallbackInfo& info);
void op_matmul(const Napi::CallbackInfo& info);
void op_tanh_jvp(const Napi::CallbackInfo& info);
void op_tanh_jvp_step(const Napi::CallbackInfo& info);
void op_tanh_jvp_step_grad(const Napi::CallbackInfo& info);
void op_softmax(const Napi::CallbackInfo& info);
void op_softmax_grad(const Napi::CallbackInfo& info);
void op_softmax_grad_grad(const Napi::CallbackInfo& info);
void op_cross_entropy(const Napi::CallbackInfo& info);
void op_layer_norm(const Napi::CallbackInfo& info);
void op_soft_histogram(const Napi::CallbackInfo& info);
void op_soft_histogram_grad(const Napi::CallbackInfo& info);
void op_correlation(const Napi::CallbackInfo& info);
void op_correlation_grad(const Napi::CallbackInfo& info);
void op_coherence(const Napi::CallbackInfo& info);
void op_coherence_grad(const Napi::CallbackInfo& info);
void op_activation_density(const Napi::CallbackInfo& info);
void op_activation_density_grad(const Napi::CallbackInfo& info);
void op_matmul_int8(const Napi::CallbackInfo& info);
void op_embedding(const Napi::CallbackInfo& info);
void op_scatter_add(const Napi::CallbackInfo& info);
void op_one_hot(const Napi::CallbackInfo& info);
void op_copy2d(const Napi::CallbackInfo& info);
void op_pad(const Napi::CallbackInfo& info);
void op_cross_entropy_grad(const Napi::CallbackInfo& info);
void op_layer_norm_grad(const Napi::CallbackInfo& info);
void op_gelu_grad(const Napi::CallbackInfo& info);
void op_layer_norm_grad_grad(const Napi::CallbackInfo& info);
void op_activation_grad(const Napi::CallbackInfo& info);
void op_linear(const Napi::CallbackInfo& info);
void op_adam_step(const Napi::CallbackInfo& info);
void op_sgd_step(const Napi::CallbackInfo& info);
}  // namespace eitp
