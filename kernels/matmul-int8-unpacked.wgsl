// The int8 matmul for devices without packed_4x8_integer_dot_product: the four signed bytes of each word are
// sign-extended by shifts (bytes4) and multiplied in i32 (|byte products| ≤ 127·128, so the sums stay exact).
// The 'f32' activations entry (main_f32) uses no dot product and is always taken from this file.
// #include matmul-int8.wgsl

fn dot4(a: u32, b: u32) -> i32 {
  let p = bytes4(a) * bytes4(b);
  return p.x + p.y + p.z + p.w;
}
