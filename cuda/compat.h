// The one header kernels include. Under nvcc it is CUDA; under g++ it is the CPU emulator (emu/emu.h), so the
// same kernel files compile both ways. Host code launches kernels only through eitp_launch(), which the emulator
// implements too; no <<<>>> appears anywhere else.
#pragma once
#include <cstdint>
#include <utility>

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#define EITP_HD __host__ __device__ __forceinline__
#define EITP_DEV __device__ __forceinline__
// Dynamic shared memory through one macro, so the emulator can hand out a fresh (0xff-filled) block of it.
#define EITP_DYN_SHARED(type, name)                              \
  extern __shared__ __align__(16) unsigned char eitp_dyn_smem_[]; \
  type* name = reinterpret_cast<type*>(eitp_dyn_smem_)
#else
#include <cmath>

#include "emu/runtime.h"
#define EITP_HD inline
#define EITP_DEV inline
#define EITP_DYN_SHARED(type, name) type* name = reinterpret_cast<type*>(::eitp_emu::dyn_shared())
#endif

namespace eitp {

// Launches kernel<<<grid, block, smem, stream>>>(args...) and returns the launch error (not the kernel's, which
// surfaces at the next synchronising call).
template <class... P, class... A>
inline cudaError_t launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, A&&... args) {
#if defined(__CUDACC__)
  kernel<<<grid, block, smem, stream>>>(std::forward<A>(args)...);
  return cudaGetLastError();
#else
  (void)stream;
  return static_cast<cudaError_t>(::eitp_emu::launch(kernel, grid, block, smem, std::forward<A>(args)...));
#endif
}

}  // namespace eitp
