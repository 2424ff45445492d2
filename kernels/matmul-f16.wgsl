enable f16;
// Batched matmul of f16 operands into an f32 C (f16 storage, f32 accumulation): kernels/matmul.wgsl with its
// operand type TA set to f16 by the loader, so the register blocking, strided (transposed) operands and batching
// are the f32 kernel's. Each half is widened to f32 as it is loaded; every product of two halves is exact in f32
// (11 + 11 significant bits) and the sums are f32 FMAs, so only the accumulation rounds, as in the f32 kernel.
// Half the bytes of f32 operands move per element. (`enable` must come first, so this file wraps the include.)
// #include matmul.wgsl
