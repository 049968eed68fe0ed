// Run-time CPU feature detection, used to pick SIMD kernels and reported by
// diagnostics (e.g. an `info` command). Detection runs once; the result
// accounts for OS support (a feature counts only if the OS saves its
// registers), so a true flag means the instructions can actually be used.
#pragma once
#include <string>

namespace hnas {

struct CpuFeatures {
  bool x86 = false;  // built for x86-64 (otherwise every flag below is false)
  bool sse2 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;

  // What the GEMM kernel families need.
  bool has_avx2_fma() const { return avx2 && fma; }
  bool has_avx512_gemm() const {
    return avx512f && avx512bw && avx512dq && avx512vl && fma && avx2;
  }
};

// Detected on first call (thread-safe), then cached.
const CpuFeatures& cpu_features();

// Space-separated list of detected features, widest first, e.g.
// "avx512f avx512bw avx512dq avx512vl fma avx2 avx sse2"; "none" when nothing
// relevant is available (or on non-x86 builds: "portable").
std::string cpu_features_string();

}  // namespace hnas
