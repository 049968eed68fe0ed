// Internals shared by the GEMM driver (gemm.cpp) and the kernel families
// (gemm_kernels_*.cpp). Not part of the public interface.
//
// The header has two parts:
//
//  1. Declarations (always): the table of operations a kernel family exports
//     and the accessors for each family. The driver only ever sees this part.
//
//  2. Generic kernel code (only when HNAS_GEMM_KERNEL_TU is defined): packing
//     routines and the macro-kernel loop, as templates in an anonymous
//     namespace. A kernel translation unit includes this header once for the
//     declarations, then switches the compiler to its instruction set
//     (#pragma GCC target / #pragma clang attribute), defines
//     HNAS_GEMM_KERNEL_TU and includes the header a second time. The generic
//     code is thereby compiled (and auto-vectorised) for that instruction set,
//     and the anonymous namespace gives each translation unit its own copy, so
//     the linker can never hand an AVX-512 instantiation to the portable path.
//     Every standard header the generic code needs is included by part 1, so
//     nothing from the standard library is compiled under the target pragma.
#ifndef HNAS_CORE_GEMM_INTERNAL_H_
#define HNAS_CORE_GEMM_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#define HNAS_GEMM_HAVE_X86 1
#include <immintrin.h>
#else
#define HNAS_GEMM_HAVE_X86 0
#endif

namespace hnas {
namespace gemm_detail {

// Packed layouts:
//  - A: micro-panels of MR rows of op(A); panel p holds op(A)(p*MR + i, k)
//    at [p*MR*kc + k*MR + i], zero-padded past the last row, so the
//    micro-kernel reads it sequentially (it stays in L1 for a whole row of
//    micro-tiles).
//  - B: a row-major block, op(B)(k, j) at [k*ldp + j], zero-padded from n up
//    to the next multiple of NR. The micro-kernel reads NR columns per k
//    with stride ldp (the block sits in L2); packing a no-trans B is plain
//    row copies.
// Packing of the next B block, handed to the macro-kernel so that it can be
// done in small parts between micro-kernel calls (see macro_kernel below).
template <typename T>
struct BPackJob {
  Trans tb;
  const T* src;  // op(B)(0, 0) of the block, as for KernelOps::pack_b
  int64_t ldb;
  int64_t kc;
  int64_t n;
  T* dst;
  int64_t ldp;  // row pitch of the packed block (elements)
};

template <typename T>
struct KernelOps {
  int mr;  // micro-tile rows
  int nr;  // micro-tile columns
  int kc;  // preferred depth of one packed block (A panel stays in L1)
  // Packs rows [0, m) x depth [0, kc) of op(A) into MR-row panels. `a` points
  // at op(A)(0, 0) of the block: A + i*lda + k (kNo) or A + k*lda + i (kYes).
  void (*pack_a)(Trans ta, const T* a, int64_t lda, int64_t m, int64_t kc,
                 T* dst);
  // Packs depth [0, kc) x columns [0, n) of op(B) into a row-major block
  // with row pitch ldp (a multiple of nr; columns n..ldp zero-filled up to
  // the next multiple of nr). `b` points at op(B)(0, 0) of the block:
  // B + k*ldb + j (kNo) or B + j*ldb + k (kYes).
  void (*pack_b)(Trans tb, const T* b, int64_t ldb, int64_t kc, int64_t n,
                 T* dst, int64_t ldp);
  // C[m x n] = alpha * PA * PB + beta * C over packed blocks of depth kc.
  // beta == 0 overwrites C without reading it; beta == 1 accumulates.
  // If `next` is not null, also packs that block (into a different buffer),
  // interleaved with the computation.
  void (*macro_kernel)(int64_t m, int64_t n, int64_t kc, const T* pa,
                       const T* pb, int64_t ldp, T alpha, T beta, T* c,
                       int64_t ldc, const BPackJob<T>* next);
  // Optional (null if the family has none): C = alpha * A * B^T + beta * C
  // for ta == kNo, tb == kYes, reading both operands in place. Used for long
  // K with a small C (the weight gradient), where packing would transpose
  // every element of B to feed it to only M FMAs.
  void (*gemm_nt_dot)(int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                      int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                      int64_t ldc);
};

struct KernelFamily {
  const char* name;
  KernelOps<float> f32;
  KernelOps<double> f64;
};

// Always available.
const KernelFamily& portable_family();
#if HNAS_GEMM_HAVE_X86
// Only call these after cpu_features() says the instructions are usable.
const KernelFamily& avx2_family();
const KernelFamily& avx512_family();
#endif

}  // namespace gemm_detail
}  // namespace hnas

#endif  // HNAS_CORE_GEMM_INTERNAL_H_

// ---------------------------------------------------------------------------
// Part 2: generic kernel code, compiled inside each kernel translation unit.
#if defined(HNAS_GEMM_KERNEL_TU) && !defined(HNAS_CORE_GEMM_INTERNAL_KERNEL_CODE_)
#define HNAS_CORE_GEMM_INTERNAL_KERNEL_CODE_

namespace hnas {
namespace gemm_detail {
namespace {

inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

#if defined(HNAS_GEMM_X86_SIMD)
// In-register transposes used by the packing routines. Transposed packing
// (op(A) with ta == kNo, op(B) with tb == kYes) dominates the cost of skinny
// products such as the weight gradient, where each packed element feeds only
// a few FMAs, so it has to run at SIMD speed rather than one element a cycle.

inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]);
  const __m256 t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]);
  const __m256 t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]);
  const __m256 t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]);
  const __m256 t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44);
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44);
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44);
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44);
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

inline void transpose4x4(__m256d r[4]) {
  const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]);
  const __m256d t1 = _mm256_unpackhi_pd(r[0], r[1]);
  const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]);
  const __m256d t3 = _mm256_unpackhi_pd(r[2], r[3]);
  r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
  r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
  r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}
#endif  // HNAS_GEMM_X86_SIMD

// ---------------------------------------------------------------------------
// Packing.

// Rows of the source transposed together: 8 x 8 float blocks when the panel
// width allows, 4 x 4 otherwise (and always for double).
template <typename T, int W>
constexpr int kTransposeGroup = (sizeof(T) == 4 && W % 8 == 0) ? 8 : 4;

// Transposes `rows` (<= G) source rows of kc elements into a panel:
// dst[k*W + r] = src[r*ld + k]. Uses in-register transposes for a full group
// (the transposed packs feed few FMAs per element in the skinny products, so
// they must not run at one element per cycle); scalar for a partial group.
template <typename T, int W>
void transpose_group(const T* src, int64_t ld, int64_t kc, int64_t rows, T* dst,
                     int64_t pitch) {
  int64_t k0 = 0;
#if defined(HNAS_GEMM_X86_SIMD)
  constexpr int G = kTransposeGroup<T, W>;
  if (rows == G) {
    if constexpr (sizeof(T) == 4 && G == 8) {
      for (; k0 + 8 <= kc; k0 += 8) {
        __m256 r[8];
        for (int q = 0; q < 8; ++q) r[q] = _mm256_loadu_ps(src + q * ld + k0);
        transpose8x8(r);
        for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + (k0 + q) * pitch, r[q]);
      }
    } else if constexpr (sizeof(T) == 4) {
      for (; k0 + 4 <= kc; k0 += 4) {
        __m128 r0 = _mm_loadu_ps(src + k0), r1 = _mm_loadu_ps(src + ld + k0);
        __m128 r2 = _mm_loadu_ps(src + 2 * ld + k0), r3 = _mm_loadu_ps(src + 3 * ld + k0);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(dst + k0 * pitch, r0);
        _mm_storeu_ps(dst + (k0 + 1) * pitch, r1);
        _mm_storeu_ps(dst + (k0 + 2) * pitch, r2);
        _mm_storeu_ps(dst + (k0 + 3) * pitch, r3);
      }
    } else {
      for (; k0 + 4 <= kc; k0 += 4) {
        __m256d r[4];
        for (int q = 0; q < 4; ++q) r[q] = _mm256_loadu_pd(src + q * ld + k0);
        transpose4x4(r);
        for (int q = 0; q < 4; ++q) _mm256_storeu_pd(dst + (k0 + q) * pitch, r[q]);
      }
    }
  }
#endif
  // Remainder: row-wise reads (sequential in memory) into the small panel.
  for (int64_t r = 0; r < rows; ++r) {
    const T* s = src + r * ld;
    for (int64_t k = k0; k < kc; ++k) dst[k * pitch + r] = s[k];
  }
}

// Copy-mode panel: dst[k*W + j] = src[k*ld + j] for j < w, zero for
// w <= j < W. The full-width loop has a constant trip count, so the compiler
// turns it into straight vector moves for the target instruction set.
template <typename T, int W>
void pack_panel_copy(const T* src, int64_t ld, int64_t kc, int64_t w, T* dst) {
  if (w == W) {
    for (int64_t k = 0; k < kc; ++k) {
      const T* s = src + k * ld;
      T* d = dst + k * W;
      for (int j = 0; j < W; ++j) d[j] = s[j];
    }
    return;
  }
  for (int64_t k = 0; k < kc; ++k) {
    const T* s = src + k * ld;
    T* d = dst + k * W;
    int64_t j = 0;
    for (; j < w; ++j) d[j] = s[j];
    for (; j < W; ++j) d[j] = T(0);
  }
}

// Transpose-mode panel: dst[k*W + j] = src[j*ld + k] for j < w, zero for
// w <= j < W.
template <typename T, int W>
void pack_panel_tr(const T* src, int64_t ld, int64_t kc, int64_t w, T* dst) {
  constexpr int G = kTransposeGroup<T, W>;
  for (int64_t j = 0; j < w; j += G) {
    transpose_group<T, W>(src + j * ld, ld, kc, min_i64(G, w - j), dst + j, W);
  }
  if (w < W) {
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t j = w; j < W; ++j) dst[k * W + j] = T(0);
  }
}

template <typename T, int MR>
void pack_a(Trans ta, const T* a, int64_t lda, int64_t m, int64_t kc, T* dst) {
  for (int64_t i = 0; i < m; i += MR, dst += kc * MR) {
    const int64_t w = min_i64(MR, m - i);
    if (ta == Trans::kNo) {
      pack_panel_tr<T, MR>(a + i * lda, lda, kc, w, dst);
    } else {
      pack_panel_copy<T, MR>(a + i, lda, kc, w, dst);
    }
  }
}

// A B block is packed in `parts` pieces so that the macro-kernel can spread
// the work over its micro-kernel calls. Pieces follow the source layout, so
// each reads a few long sequential runs:
//  - tb == kNo: the source is kc rows of n elements; piece u is the u-th
//    slice of the kc*n elements in row-major order.
//  - tb == kYes: the source is n rows of kc elements, transposed G rows at a
//    time; piece u is the u-th slice of the row groups.
template <typename T, int NR>
struct BPiece {
  int64_t begin, end;  // element range (kNo) or row range (kYes)
};

template <typename T, int NR>
BPiece<T, NR> b_piece(Trans tb, int64_t kc, int64_t n, int64_t part, int64_t parts) {
  if (tb == Trans::kNo) {
    const int64_t total = kc * n;
    return {total * part / parts, total * (part + 1) / parts};
  }
  constexpr int G = kTransposeGroup<T, NR>;
  const int64_t groups = (n + G - 1) / G;
  return {min_i64(n, groups * part / parts * G), min_i64(n, groups * (part + 1) / parts * G)};
}

template <typename T, int NR>
void pack_b_piece(const BPackJob<T>& job, const BPiece<T, NR>& piece) {
  const int64_t kc = job.kc, n = job.n, ldb = job.ldb, ldp = job.ldp;
  const int64_t n_pad = (n + NR - 1) / NR * NR;
  if (job.tb == Trans::kNo) {
    // Row segments are copied as they are: sequential loads and stores.
    int64_t e = piece.begin;
    while (e < piece.end) {
      const int64_t k = e / n;
      const int64_t j0 = e - k * n;
      const int64_t j1 = min_i64(n, piece.end - k * n);
      std::memcpy(job.dst + k * ldp + j0, job.src + k * ldb + j0,
                  static_cast<size_t>(j1 - j0) * sizeof(T));
      if (j1 == n) {
        for (int64_t j = n; j < n_pad; ++j) job.dst[k * ldp + j] = T(0);
      }
      e = (k + 1) * n;
    }
    return;
  }
  constexpr int G = kTransposeGroup<T, NR>;
  for (int64_t j = piece.begin; j < piece.end; j += G) {
    transpose_group<T, NR>(job.src + j * ldb, ldb, kc, min_i64(G, n - j), job.dst + j, ldp);
  }
  if (piece.end == n && n < n_pad && piece.begin < piece.end) {
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t j = n; j < n_pad; ++j) job.dst[k * ldp + j] = T(0);
  }
}

template <typename T, int NR>
void pack_b(Trans tb, const T* b, int64_t ldb, int64_t kc, int64_t n, T* dst,
            int64_t ldp) {
  const BPackJob<T> job{tb, b, ldb, kc, n, dst, ldp};
  pack_b_piece<T, NR>(job, b_piece<T, NR>(tb, kc, n, 0, 1));
}

// ---------------------------------------------------------------------------
// Prefetching.

inline void prefetch_line(const char* p) {
#if HNAS_GEMM_HAVE_X86
  _mm_prefetch(p, _MM_HINT_T0);
#elif defined(__GNUC__)
  __builtin_prefetch(p, 0, 3);
#else
  (void)p;
#endif
}

// Walks the source of one B piece, two cache lines per step, row by row. The
// micro-kernels call step() once per k iteration, so the piece packed after a
// micro-kernel call was fetched from DRAM while that call's FMAs ran. (Whole
// blocks fetched far ahead do not survive in cache; one piece ahead does.)
struct PrefetchCursor {
  const char* p = nullptr;
  const char* row_end = nullptr;
  int64_t stride = 0;
  int64_t row_bytes = 0;
  int64_t lines_left = 0;

  void step() {
    if (lines_left <= 0) return;
    prefetch_line(p);
    prefetch_line(p + 64);
    lines_left -= 2;
    p += 128;
    if (p >= row_end) {
      row_end += stride;
      p = row_end - row_bytes;
    }
  }
};

template <typename T, int NR>
PrefetchCursor b_piece_cursor(const BPackJob<T>& job, const BPiece<T, NR>& piece) {
  PrefetchCursor c;
  if (piece.end <= piece.begin) return c;
  const int64_t es = static_cast<int64_t>(sizeof(T));
  const char* base = reinterpret_cast<const char*>(job.src);
  c.stride = job.ldb * es;
  if (job.tb == Trans::kNo) {
    const int64_t k = piece.begin / job.n, j = piece.begin - k * job.n;
    c.row_bytes = job.n * es;
    c.row_end = base + k * c.stride + c.row_bytes;
    c.p = base + k * c.stride + j * es;
    c.lines_left = ((piece.end - piece.begin) * es + 63) / 64 + 1;
  } else {
    c.row_bytes = job.kc * es;
    c.row_end = base + piece.begin * c.stride + c.row_bytes;
    c.p = base + piece.begin * c.stride;
    c.lines_left = (piece.end - piece.begin) * ((c.row_bytes + 63) / 64 + 1);
  }
  return c;
}

#if defined(HNAS_GEMM_X86_SIMD)
// ---------------------------------------------------------------------------
// SIMD micro-kernel, written once over a traits type S that the kernel
// translation unit defines for its vector width:
//   using V; kLen (elements per vector); zero(), load(p), bcast(p),
//   fmadd(a, b, c) = a*b + c, mul(a, b), set1(x), store(p, v).
// The tile is MR rows x NV vectors; NV = kMaxVecs for full tiles, fewer for
// the narrow tile at the right edge of N, so an edge of e.g. 16 columns costs
// one vector column of FMAs instead of a full tile.
template <typename T, typename S, int MR, int kMaxVecs>
struct UkernelSimd {
  static constexpr int kMR = MR;
  static constexpr int kVecLen = S::kLen;
  static constexpr int kVecs = kMaxVecs;
  static constexpr int kNR = kMaxVecs * S::kLen;

  // beta == 0 overwrites without reading C (NaN in C does not propagate);
  // beta == 1 accumulates.
  static inline void store_c(T* c, typename S::V acc, typename S::V valpha, T beta) {
    if (beta == T(0)) {
      S::store(c, S::mul(valpha, acc));
    } else if (beta == T(1)) {
      S::store(c, S::fmadd(valpha, acc, S::load(c)));
    } else {
      S::store(c, S::fmadd(valpha, acc, S::mul(S::set1(beta), S::load(c))));
    }
  }

  template <int NV>
  static void run(int64_t kc, const T* a, const T* b, int64_t ldb, T* c,
                  int64_t ldc, T alpha, T beta, PrefetchCursor& prefetch) {
    using V = typename S::V;
    // Pull the C tile towards L1 while the k loop runs; it is needed only at
    // the end, and for large outputs it would otherwise miss to DRAM.
    constexpr int kRowBytes = NV * S::kLen * static_cast<int>(sizeof(T));
    for (int i = 0; i < MR; ++i) {
      const char* row = reinterpret_cast<const char*>(c + i * ldc);
      for (int off = 0; off < kRowBytes; off += 64) prefetch_line(row + off);
      prefetch_line(row + kRowBytes - 1);
    }
    V acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
    }
    PrefetchCursor pf = prefetch;  // local copy: lives in registers
    for (int64_t k = 0; k < kc; ++k) {
      pf.step();
      V bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = S::load(b + v * S::kLen);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const V ai = S::bcast(a + i);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = S::fmadd(ai, bv[v], acc[i][v]);
      }
      a += MR;
      b += ldb;
    }
    prefetch = pf;
    const V valpha = S::set1(alpha);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) store_c(c + i * ldc + v * S::kLen, acc[i][v], valpha, beta);
    }
  }
};
#endif  // HNAS_GEMM_X86_SIMD

#if defined(HNAS_GEMM_X86_SIMD)
// ---------------------------------------------------------------------------
// Dot-product kernel for C = alpha * A * B^T + beta * C (ta = kNo, tb = kYes)
// with both operands read in place: rows of A and rows of B are contiguous
// along k, so an IR x JR tile of C is IR*JR vector accumulators of partial
// sums along k, reduced horizontally at the end. Needs, beyond the traits
// used by UkernelSimd, load_first(p, count) (the first `count` < kLen
// elements, zeros after, nothing read past them) and reduce(v) (sum of the
// lanes).
//
// Loop nest per K chunk of depth kd: for each group of JR rows of B (kept in
// L1 across the i loop, while the next group is prefetched), for each group
// of IR rows of A (the A chunk, m x kd, stays in L2).
template <typename T, typename S, int IR, int JR>
struct DotNt {
  // sums[i*JR + j] = sum over [0, kd) of a_i[k] * b_j[k].
  static void tile(int64_t kd, const T* const* arow, const T* const* brow,
                   T* sums, PrefetchCursor& prefetch) {
    using V = typename S::V;
    V acc[IR][JR];
#pragma GCC unroll 8
    for (int i = 0; i < IR; ++i) {
#pragma GCC unroll 8
      for (int j = 0; j < JR; ++j) acc[i][j] = S::zero();
    }
    const T* ar[IR];
    const T* br[JR];
    for (int i = 0; i < IR; ++i) ar[i] = arow[i];
    for (int j = 0; j < JR; ++j) br[j] = brow[j];
    PrefetchCursor pf = prefetch;
    int64_t k = 0;
    for (; k + S::kLen <= kd; k += S::kLen) {
      pf.step();
      V bv[JR];
#pragma GCC unroll 8
      for (int j = 0; j < JR; ++j) bv[j] = S::load(br[j] + k);
#pragma GCC unroll 8
      for (int i = 0; i < IR; ++i) {
        const V av = S::load(ar[i] + k);
#pragma GCC unroll 8
        for (int j = 0; j < JR; ++j) acc[i][j] = S::fmadd(av, bv[j], acc[i][j]);
      }
    }
    if (k < kd) {
      const int rest = static_cast<int>(kd - k);
      V bv[JR];
      for (int j = 0; j < JR; ++j) bv[j] = S::load_first(br[j] + k, rest);
      for (int i = 0; i < IR; ++i) {
        const V av = S::load_first(ar[i] + k, rest);
        for (int j = 0; j < JR; ++j) acc[i][j] = S::fmadd(av, bv[j], acc[i][j]);
      }
    }
    prefetch = pf;
    for (int i = 0; i < IR; ++i)
      for (int j = 0; j < JR; ++j) sums[i * JR + j] = S::reduce(acc[i][j]);
  }

  static void gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                   int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                   int64_t ldc) {
    // K chunk of 4 KiB per row: the JR rows of B (24 KiB for JR = 6) stay in
    // L1 across the i loop, the A chunk (m x kd) in L2.
    const int64_t kd = 4096 / static_cast<int64_t>(sizeof(T));
    T sums[IR * JR];
    for (int64_t k0 = 0; k0 < k; k0 += kd) {
      const int64_t kk = min_i64(kd, k - k0);
      const T chunk_beta = k0 == 0 ? beta : T(1);
      for (int64_t j0 = 0; j0 < n; j0 += JR) {
        const int64_t jn = min_i64(JR, n - j0);
        const T* brow[JR];
        // Rows past the edge repeat the last row (valid memory); their sums
        // are dropped.
        for (int j = 0; j < JR; ++j) brow[j] = b + (j0 + min_i64(j, jn - 1)) * ldb + k0;
        // Prefetch the next group of B rows over this group's i loop.
        PrefetchCursor pf;
        if (j0 + JR < n) {
          const int64_t rows = min_i64(JR, n - j0 - JR);
          pf.stride = ldb * static_cast<int64_t>(sizeof(T));
          pf.row_bytes = kk * static_cast<int64_t>(sizeof(T));
          pf.p = reinterpret_cast<const char*>(b + (j0 + JR) * ldb + k0);
          pf.row_end = pf.p + pf.row_bytes;
          pf.lines_left = rows * ((pf.row_bytes + 63) / 64 + 1);
        }
        for (int64_t i0 = 0; i0 < m; i0 += IR) {
          const int64_t in = min_i64(IR, m - i0);
          const T* arow[IR];
          for (int i = 0; i < IR; ++i) arow[i] = a + (i0 + min_i64(i, in - 1)) * lda + k0;
          tile(kk, arow, brow, sums, pf);
          for (int64_t i = 0; i < in; ++i) {
            T* crow = c + (i0 + i) * ldc + j0;
            for (int64_t j = 0; j < jn; ++j) {
              const T v = alpha * sums[i * JR + j];
              crow[j] = chunk_beta == T(0) ? v : chunk_beta * crow[j] + v;
            }
          }
        }
      }
    }
  }
};
#endif  // HNAS_GEMM_X86_SIMD

// ---------------------------------------------------------------------------
// Macro-kernel: loops over the micro-tiles of one packed block. The A
// micro-panel (MR x kc) is the L1-resident operand; the B block streams from
// L2 in the inner loop. Ukernel provides:
//   static constexpr int kMR, kNR, kVecLen, kVecs;  // kNR = kVecs * kVecLen
//   template <int NV>
//   static void run(int64_t kc, const T* a, const T* b, int64_t ldb, T* c,
//                   int64_t ldc, T alpha, T beta, PrefetchCursor& pf);
//   an MR x (NV * kVecLen) tile with the macro-kernel's beta rule, reading
//   B rows ldb apart and calling pf.step() once per k iteration.
// Edge tiles are computed into a local tile and merged, which keeps the
// micro-kernels free of bounds logic.
//
// With a `next` job, piece u of the next B block is packed right after
// micro-kernel call u, having been prefetched during it: the DRAM traffic of
// packing overlaps the FMAs instead of forming a separate, memory-bound phase.
template <typename T, typename Ukernel, int NV = 1>
void run_narrow(int64_t nv, int64_t kc, const T* a, const T* b, int64_t ldb,
                T* tile, PrefetchCursor& pf) {
  if constexpr (NV < Ukernel::kVecs) {
    if (nv > NV) {
      run_narrow<T, Ukernel, NV + 1>(nv, kc, a, b, ldb, tile, pf);
      return;
    }
  }
  Ukernel::template run<NV>(kc, a, b, ldb, tile, Ukernel::kNR, T(1), T(0), pf);
}

template <typename T, typename Ukernel>
void macro_kernel(int64_t m, int64_t n, int64_t kc, const T* pa, const T* pb,
                  int64_t ldp, T alpha, T beta, T* c, int64_t ldc,
                  const BPackJob<T>* next) {
  constexpr int MR = Ukernel::kMR;
  constexpr int NR = Ukernel::kNR;
  alignas(64) T tile[MR * NR];
  const int64_t calls = ((m + MR - 1) / MR) * ((n + NR - 1) / NR);
  // The next block is packed in `pieces` parts of at least ~2 KiB each (so
  // that short micro-kernel calls, e.g. kc = 16, do not pay per-call
  // bookkeeping); piece u is prefetched during the calls before
  // pack_after(u) and packed right after that call.
  int64_t pieces = 0, piece_idx = 0, pack_at = -1;
  BPiece<T, NR> piece{0, 0};
  PrefetchCursor pf;
  auto pack_after = [&](int64_t u) { return (u + 1) * calls / pieces - 1; };
  if (next != nullptr) {
    const int64_t bytes = next->kc * next->n * static_cast<int64_t>(sizeof(T));
    pieces = min_i64(calls, bytes / 2048 + 1);
    piece = b_piece<T, NR>(next->tb, next->kc, next->n, 0, pieces);
    pf = b_piece_cursor<T, NR>(*next, piece);
    pack_at = pack_after(0);
  }
  int64_t call = 0;
  for (int64_t i = 0; i < m; i += MR) {
    const T* a = pa + i * kc;
    const int64_t mr = min_i64(MR, m - i);
    for (int64_t j = 0; j < n; j += NR, ++call) {
      const T* b = pb + j;
      T* cij = c + i * ldc + j;
      const int64_t nr = min_i64(NR, n - j);
      if (mr == MR && nr == NR) {
        Ukernel::template run<Ukernel::kVecs>(kc, a, b, ldp, cij, ldc, alpha, beta, pf);
      } else {
        // Narrowest kernel that covers the edge, into a local tile.
        const int64_t nv = (nr + Ukernel::kVecLen - 1) / Ukernel::kVecLen;
        run_narrow<T, Ukernel>(nv, kc, a, b, ldp, tile, pf);
        for (int64_t ii = 0; ii < mr; ++ii) {
          T* crow = cij + ii * ldc;
          const T* trow = tile + ii * NR;
          if (beta == T(0)) {
            for (int64_t jj = 0; jj < nr; ++jj) crow[jj] = alpha * trow[jj];
          } else {
            for (int64_t jj = 0; jj < nr; ++jj)
              crow[jj] = beta * crow[jj] + alpha * trow[jj];
          }
        }
      }
      if (call == pack_at) {
        pack_b_piece<T, NR>(*next, piece);
        if (++piece_idx < pieces) {
          piece = b_piece<T, NR>(next->tb, next->kc, next->n, piece_idx, pieces);
          pf = b_piece_cursor<T, NR>(*next, piece);
          pack_at = pack_after(piece_idx);
        }
      }
    }
  }
}

template <typename T, typename Ukernel>
constexpr KernelOps<T> make_ops(
    int kc,
    void (*gemm_nt_dot)(int64_t, int64_t, int64_t, T, const T*, int64_t, const T*,
                        int64_t, T, T*, int64_t) = nullptr) {
  return KernelOps<T>{Ukernel::kMR,
                      Ukernel::kNR,
                      kc,
                      &pack_a<T, Ukernel::kMR>,
                      &pack_b<T, Ukernel::kNR>,
                      &macro_kernel<T, Ukernel>,
                      gemm_nt_dot};
}

}  // namespace
}  // namespace gemm_detail
}  // namespace hnas

#endif  // HNAS_GEMM_KERNEL_TU
