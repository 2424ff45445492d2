#include "isa.h"

#include <cstdlib>
#include <string>

namespace eitp {

namespace {

Isa pickIsa() {
  std::string want;
  if (const char* env = std::getenv("EITP_SIMD")) want = env;
  Isa isa = Isa::Generic;
#ifdef EITP_X86
  __builtin_cpu_init();
  const bool hasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool hasAvx512 = hasAvx2 && __builtin_cpu_supports("avx512f");
  if (want == "generic") return isa;
  if (hasAvx2) isa = Isa::Avx2;
  if (want == "avx2") return isa;
  if (hasAvx512) isa = Isa::Avx512;
#endif
  return isa;
}

}  // namespace

Isa activeIsa() {
  static const Isa isa = pickIsa();
  return isa;
}

}  // namespace eitp
