enable f16;
// Strided copy of f16 elements: kernels/copy.wgsl with T set to f16 by the loader. Halves are loaded and stored as
// f16 with no arithmetic, so every bit pattern (subnormals, Inf, NaN payloads) moves unchanged; WGSL memory
// locations are bytes, so two invocations storing the two halves of one 32-bit word do not race.
// (`enable` must come first, so this file wraps the include.)
// #include copy.wgsl
