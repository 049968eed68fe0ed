#include "cpu_features.h"

#if (defined(__x86_64__) || defined(_M_X64)) && defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#include <immintrin.h>
#define HNAS_CPU_MSVC_X86 1
#endif

namespace hnas {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  f.x86 = true;
#if defined(HNAS_CPU_MSVC_X86)
  // MSVC has no __builtin_cpu_supports: read CPUID and XCR0 directly.
  int r[4];
  __cpuid(r, 0);
  const int max_leaf = r[0];
  __cpuid(r, 1);
  const bool osxsave = (r[2] >> 27) & 1;
  f.sse2 = (r[3] >> 26) & 1;
  const bool cpu_avx = (r[2] >> 28) & 1;
  const bool cpu_fma = (r[2] >> 12) & 1;
  const unsigned long long xcr0 = osxsave ? _xgetbv(0) : 0;
  const bool os_ymm = (xcr0 & 0x6) == 0x6;      // XMM + YMM state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;    // + opmask, ZMM_Hi256, Hi16_ZMM
  f.avx = cpu_avx && os_ymm;
  f.fma = cpu_fma && os_ymm;
  if (max_leaf >= 7) {
    __cpuidex(r, 7, 0);
    f.avx2 = os_ymm && ((r[1] >> 5) & 1);
    f.avx512f = os_zmm && ((r[1] >> 16) & 1);
    f.avx512dq = os_zmm && ((r[1] >> 17) & 1);
    f.avx512bw = os_zmm && ((r[1] >> 30) & 1);
    f.avx512vl = os_zmm && ((r[1] >> 31) & 1);
  }
#else
  // libgcc / compiler-rt check CPUID and the OS-enabled state in XCR0.
  __builtin_cpu_init();
  f.sse2 = __builtin_cpu_supports("sse2");
  f.avx = __builtin_cpu_supports("avx");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
#endif
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

std::string cpu_features_string() {
  const CpuFeatures& f = cpu_features();
  if (!f.x86) return "portable";
  std::string s;
  auto add = [&s](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512dq, "avx512dq");
  add(f.avx512vl, "avx512vl");
  add(f.fma, "fma");
  add(f.avx2, "avx2");
  add(f.avx, "avx");
  add(f.sse2, "sse2");
  return s.empty() ? "none" : s;
}

}  // namespace hnas
