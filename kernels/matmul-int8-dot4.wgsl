// The int8 matmul with the packed 4×8-bit dot product (WGSL language feature packed_4x8_integer_dot_product; the
// host checks navigator.gpu.wgslLanguageFeatures before choosing this file).
// #include matmul-int8.wgsl

fn dot4(a: u32, b: u32) -> i32 {
  return dot4I8Packed(a, b);
}
