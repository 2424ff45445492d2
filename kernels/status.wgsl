// Index-range errors found on the device: the first offender writes (op, value, position, limit) into the status
// buffer, which the host checks at its next read and turns into the same ArgumentError the cpu backend throws.
override STATUS_OP: u32 = 0u;

fn report_index_error(value: i32, position: u32, limit: u32) {
  if (atomicAdd(&STATUS[0], 1u) == 0u) {
    atomicStore(&STATUS[1], STATUS_OP);
    atomicStore(&STATUS[2], bitcast<u32>(value));
    atomicStore(&STATUS[3], position);
    atomicStore(&STATUS[4], limit);
  }
}
