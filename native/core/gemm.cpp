// GEMM driver: argument checks, kernel-family dispatch, the thread partition
// and the cache-blocked loop nest around the packed micro-kernels.
//
// Algorithm (GotoBLAS/BLIS structure, transposed for row-major C whose SIMD
// vectors run along N):
//
//   for each K super-block of depth ka            (usually all of K)
//     for each M block of mc rows                 (usually all of M)
//       pack A[mc x ka] into MR-row panels         -> L2 (L3 if large)
//       for each N block of nc columns
//         for each K block of depth kc within ka
//           macro-kernel on the packed B[kc x nc]  -> L2
//             for each MR panel of A (in L1), for each NR columns of B:
//               MR x NR micro-kernel
//             meanwhile pack the next B block, piece by piece
//
// Packing makes every trans combination look the same to the micro-kernel,
// so all four take the same fast path. A (the small weight matrix in the
// im2col products) is packed once per thread and each B element exactly
// once. Those products are bound by streaming B from DRAM (each element
// feeds only M = 16..64 FMAs), so B blocks are double-buffered and the next
// one is packed in pieces between micro-kernel calls, each piece prefetched
// during the call before it: the memory traffic overlaps the FMAs instead of
// forming a separate memory-bound phase. Packed B blocks keep B's row-major
// layout (pitch ~nc), so packing a no-trans B is a sequence of long
// contiguous copies.
//
// Threads: the problem is cut into tm x tn x tk independent parts (a grid
// over C, optionally split along K), chosen by a small cost model. Each part
// runs the loop nest above with its own thread-local packing buffers, so one
// parallel_for covers the whole call with no barriers. K splits (for a small
// C with a long K, e.g. the weight gradient M=16, N=144, K=65536) write
// partial products to a scratch buffer that is summed into C after the join.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <string>
#include <type_traits>

#include "cpu_features.h"
#include "error.h"
#include "gemm_internal.h"
#include "thread_pool.h"

namespace hnas {
namespace {

using gemm_detail::KernelFamily;
using gemm_detail::KernelOps;

// ---------------------------------------------------------------------------
// Tuning constants (sized for a 48 KiB L1 / 1 MiB L2 per core; smaller caches
// only lose a little speed).

// Packed B block (kc x nc). Two are live at once (one being computed on, the
// next being packed), so together they take about half of the L2.
constexpr int64_t kBBlockBytes = 256 * 1024;
// Packed A block (mc x ka). Up to this size the whole of op(A) (or the
// thread's share of it) is packed once and reused across every N block.
constexpr int64_t kABlockBytes = 2 * 1024 * 1024;
// When A does not fit kABlockBytes with the full depth, keep at least this
// many rows per block (fewer rows would re-pack B too often) and cut K into
// super-blocks instead.
constexpr int64_t kMinBlockRows = 96;
// Shallowest K block worth taking to fit all of N in one B block (below it
// the C tile reloads start to show).
constexpr int64_t kMinBlockDepth = 128;
// Widest N block; beyond this the B block gains nothing.
constexpr int64_t kMaxBlockCols = 8192;
// Problems up to this many flops skip packing. The packed path costs only
// ~0.2 us of set-up and overtakes the direct loops at about 8 x 8 x 8.
constexpr double kDirectMaxFlops = 512;
// Fewest flops worth handing to one more thread: waking a pool worker costs
// on the order of 10 us.
constexpr double kMinFlopsPerThread = 3.0e6;
// Dot-product kernel for NT products: smallest K, largest M (beyond it the
// packed path amortises its transposes well enough).
constexpr int64_t kDotMinDepth = 1024;
constexpr int64_t kDotMaxRows = 32;
// Cost-model weights, in flops: packing one element, and writing plus
// reducing one element of a K-split partial product.
constexpr double kPackCost = 16.0;
constexpr double kReduceCost = 32.0;
constexpr std::size_t kBufferAlign = 64;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// ---------------------------------------------------------------------------
// Kernel-family selection.

const KernelFamily& auto_family() {
  static const KernelFamily* const chosen = [] {
#if HNAS_GEMM_HAVE_X86
    const CpuFeatures& f = cpu_features();
    if (f.has_avx512_gemm()) return &gemm_detail::avx512_family();
    if (f.has_avx2_fma()) return &gemm_detail::avx2_family();
#endif
    return &gemm_detail::portable_family();
  }();
  return *chosen;
}

std::atomic<const KernelFamily*> g_forced_family{nullptr};

const KernelFamily& active_family() {
  const KernelFamily* forced = g_forced_family.load(std::memory_order_acquire);
  return forced ? *forced : auto_family();
}

template <typename T>
const KernelOps<T>& ops_of(const KernelFamily& f) {
  if constexpr (std::is_same_v<T, float>) {
    return f.f32;
  } else {
    return f.f64;
  }
}

// ---------------------------------------------------------------------------
// Reusable aligned scratch memory. Thread-local instances grow to the largest
// size a thread has needed and are then reused, so steady-state calls do no
// allocation.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { release(); }

  template <typename T>
  T* get(int64_t count) {
    const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(T);
    if (bytes > size_) {
      release();
      const std::size_t want = (bytes + 4095) & ~std::size_t{4095};
      ptr_ = ::operator new(want, std::align_val_t(kBufferAlign), std::nothrow);
      if (ptr_ == nullptr) {
        fail(ErrorCode::kOutOfMemory,
             "gemm: cannot allocate " + std::to_string(want) + " bytes of scratch");
      }
      size_ = want;
    }
    return static_cast<T*>(ptr_);
  }

 private:
  void release() {
    if (ptr_ != nullptr) ::operator delete(ptr_, std::align_val_t(kBufferAlign));
    ptr_ = nullptr;
    size_ = 0;
  }
  void* ptr_ = nullptr;
  std::size_t size_ = 0;
};

thread_local ScratchBuffer t_pack_a;
thread_local ScratchBuffer t_pack_b;
thread_local ScratchBuffer t_partials;  // K-split partials of the calling thread

// ---------------------------------------------------------------------------
// Element addressing for op(A) and op(B).

template <typename T>
const T* a_at(Trans ta, const T* a, int64_t lda, int64_t i, int64_t k) {
  return ta == Trans::kNo ? a + i * lda + k : a + k * lda + i;
}
template <typename T>
const T* b_at(Trans tb, const T* b, int64_t ldb, int64_t k, int64_t j) {
  return tb == Trans::kNo ? b + k * ldb + j : b + j * ldb + k;
}

// C = beta * C (beta == 0 writes zeros without reading).
template <typename T>
void scale_c(int64_t m, int64_t n, T beta, T* c, int64_t ldc) {
  if (beta == T(1)) return;
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0)) {
      std::fill(row, row + n, T(0));
    } else {
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
    }
  }
}

// ---------------------------------------------------------------------------
// Direct path for tiny problems and for vector-shaped ones (M == 1 or
// N == 1), where padding to a micro-tile would waste most of the work. No
// packing; the loop order keeps the innermost loop contiguous in memory.
template <typename T>
void gemm_direct(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, T alpha,
                 const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                 int64_t ldc) {
  scale_c(m, n, beta, c, ldc);
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    if (tb == Trans::kNo && n > 1) {
      // C[i, :] += (alpha * op(A)[i, k]) * B[k, :] -- unit-stride axpy.
      for (int64_t p = 0; p < k; ++p) {
        const T aik = alpha * *a_at(ta, a, lda, i, p);
        const T* brow = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) crow[j] += aik * brow[j];
      }
    } else {
      // Dot products; four partial sums break the add dependency chain.
      for (int64_t j = 0; j < n; ++j) {
        const T* bcol = b_at(tb, b, ldb, 0, j);
        const int64_t bstep = tb == Trans::kNo ? ldb : 1;
        const T* arow = a_at(ta, a, lda, i, 0);
        const int64_t astep = ta == Trans::kNo ? 1 : lda;
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t p = 0;
        for (; p + 4 <= k; p += 4) {
          s0 += arow[p * astep] * bcol[p * bstep];
          s1 += arow[(p + 1) * astep] * bcol[(p + 1) * bstep];
          s2 += arow[(p + 2) * astep] * bcol[(p + 2) * bstep];
          s3 += arow[(p + 3) * astep] * bcol[(p + 3) * bstep];
        }
        for (; p < k; ++p) s0 += arow[p * astep] * bcol[p * bstep];
        crow[j] += alpha * ((s0 + s1) + (s2 + s3));
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Blocked path for one part of the problem, on the calling thread.

struct Blocking {
  int64_t kc;  // depth of one packed block
  int64_t ka;  // depth of one A super-block (a multiple of kc, or all of k)
  int64_t mc;  // rows of one packed A block
  int64_t nc;  // columns of one packed B block
};

// Splits `total` into the fewest chunks of at most `limit`, of equal size
// rounded up to `unit` (so the last chunk is not a sliver).
int64_t balanced_chunk(int64_t total, int64_t limit, int64_t unit) {
  limit = std::max(limit, unit);
  const int64_t chunks = ceil_div(total, limit);
  return std::min(round_up(ceil_div(total, chunks), unit), round_up(total, unit));
}

template <typename T>
Blocking choose_blocking(const KernelOps<T>& ops, int64_t m, int64_t n, int64_t k) {
  const int64_t mr = ops.mr, nr = ops.nr;
  const int64_t es = sizeof(T);
  Blocking bl;
  bl.kc = balanced_chunk(k, ops.kc, 1);
  // Every N block streams the whole A block again, which is expensive when
  // A is big (long K, e.g. the weight gradient). If a shallower B block
  // would hold all of N, take it.
  const int64_t n_pad = round_up(n, nr);
  if (n_pad * bl.kc * es > kBBlockBytes) {
    const int64_t kc_fit = kBBlockBytes / (n_pad * es);
    if (kc_fit >= kMinBlockDepth) bl.kc = balanced_chunk(k, kc_fit, 1);
  }
  // B block: as many columns as fit kBBlockBytes at this depth.
  bl.nc = balanced_chunk(n, std::min(kMaxBlockCols, kBBlockBytes / (bl.kc * es)), nr);
  const int64_t m_pad = round_up(m, mr);
  if (m_pad * k * es <= kABlockBytes) {
    bl.mc = m_pad;
    bl.ka = k;
    return bl;
  }
  const int64_t rows = kABlockBytes / (k * es) / mr * mr;
  if (rows >= kMinBlockRows) {
    bl.mc = balanced_chunk(m, rows, mr);
    bl.ka = k;
    return bl;
  }
  bl.mc = balanced_chunk(m, kMinBlockRows, mr);
  bl.ka = std::max<int64_t>(1, kABlockBytes / (bl.mc * es * bl.kc)) * bl.kc;
  return bl;
}

// Row pitch of a packed B block: nc rounded up to the micro-tile, plus one
// tile when the pitch would be a multiple of 1 KiB, so that the kernel's
// strided walk down the block does not pile into a few L1 sets.
template <typename T>
int64_t b_pitch(int64_t nc, int64_t nr) {
  int64_t p = round_up(nc, nr);
  if ((p * static_cast<int64_t>(sizeof(T))) % 1024 == 0) p += nr;
  return p;
}

// The dot-product kernel (no packing) beats the packed path on NT products
// with a long K and few rows: there packing transposes every element of B
// to feed only M FMAs, and pads N up to the micro-tile. It reads A and B in
// place, so it needs 64-byte aligned rows (otherwise most of its loads split
// across cache lines and it loses).
template <typename T>
bool use_dot_kernel(const KernelOps<T>& ops, Trans ta, Trans tb, int64_t m,
                    int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb) {
  if (ops.gemm_nt_dot == nullptr || ta != Trans::kNo || tb != Trans::kYes) return false;
  if (k < kDotMinDepth || m > kDotMaxRows) return false;
  const int64_t es = static_cast<int64_t>(sizeof(T));
  const auto aligned = [](const void* p) { return (reinterpret_cast<uintptr_t>(p) & 63) == 0; };
  return aligned(a) && aligned(b) && (lda * es) % 64 == 0 && (ldb * es) % 64 == 0;
}

template <typename T>
void gemm_blocked(const KernelOps<T>& ops, Trans ta, Trans tb, int64_t m,
                  int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                  const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const Blocking bl = choose_blocking(ops, m, n, k);
  const int64_t ldp = b_pitch<T>(bl.nc, ops.nr);
  const int64_t b_block = bl.kc * ldp;
  T* pa = t_pack_a.get<T>(bl.mc * std::min(bl.ka, k));
  // Two B buffers: the macro-kernel computes on one while packing the next
  // block into the other.
  T* pb_buf = t_pack_b.get<T>(2 * b_block);
  for (int64_t p0 = 0; p0 < k; p0 += bl.ka) {
    const int64_t ka = std::min(bl.ka, k - p0);
    for (int64_t ic = 0; ic < m; ic += bl.mc) {
      const int64_t mc = std::min(bl.mc, m - ic);
      const int64_t mc_pad = round_up(mc, ops.mr);
      // Pack the A block as consecutive kc-deep slabs; slab at depth d starts
      // at element (d - p0) * mc_pad.
      for (int64_t pc = p0; pc < p0 + ka; pc += bl.kc) {
        const int64_t kc = std::min(bl.kc, p0 + ka - pc);
        ops.pack_a(ta, a_at(ta, a, lda, ic, pc), lda, mc, kc, pa + (pc - p0) * mc_pad);
      }
      // B blocks in (jc, pc) order; block t lives in buffer t % 2.
      auto job_for = [&](int64_t jc, int64_t pc, int64_t t) {
        return gemm_detail::BPackJob<T>{tb,
                                        b_at(tb, b, ldb, pc, jc),
                                        ldb,
                                        std::min(bl.kc, p0 + ka - pc),
                                        std::min(bl.nc, n - jc),
                                        pb_buf + (t % 2) * b_block,
                                        ldp};
      };
      {
        const auto first = job_for(0, p0, 0);
        ops.pack_b(first.tb, first.src, first.ldb, first.kc, first.n, first.dst, ldp);
      }
      int64_t t = 0;
      for (int64_t jc = 0; jc < n; jc += bl.nc) {
        for (int64_t pc = p0; pc < p0 + ka; pc += bl.kc, ++t) {
          int64_t npc = pc + bl.kc, njc = jc;
          if (npc >= p0 + ka) {
            npc = p0;
            njc = jc + bl.nc;
          }
          gemm_detail::BPackJob<T> next{};
          const bool has_next = njc < n;
          if (has_next) next = job_for(njc, npc, t + 1);
          // The first K block applies beta; later ones accumulate.
          ops.macro_kernel(mc, std::min(bl.nc, n - jc), std::min(bl.kc, p0 + ka - pc),
                           pa + (pc - p0) * mc_pad, pb_buf + (t % 2) * b_block, ldp, alpha,
                           pc == 0 ? beta : T(1), c + ic * ldc + jc, ldc,
                           has_next ? &next : nullptr);
        }
      }
    }
  }
}

// One part of the problem on the calling thread: the dot-product kernel for
// long-K NT products with a small A, the packed path otherwise.
template <typename T>
void gemm_part(const KernelOps<T>& ops, Trans ta, Trans tb, int64_t m, int64_t n,
               int64_t k, T alpha, const T* a, int64_t lda, const T* b,
               int64_t ldb, T beta, T* c, int64_t ldc) {
  if (use_dot_kernel(ops, ta, tb, m, k, a, lda, b, ldb)) {
    ops.gemm_nt_dot(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  gemm_blocked(ops, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// ---------------------------------------------------------------------------
// Thread partition.

struct Partition {
  int tm = 1, tn = 1, tk = 1;
  int parts() const { return tm * tn * tk; }
};

// Picks tm x tn x tk == threads minimising the estimated time of one part:
// its (tile-padded) flops, the elements it packs, and for K splits the
// partial products to write and reduce.
template <typename T>
Partition choose_partition(const KernelOps<T>& ops, int64_t m, int64_t n,
                           int64_t k, int threads) {
  const int64_t m_panels = ceil_div(m, ops.mr);
  const int64_t n_panels = ceil_div(n, ops.nr);
  Partition best;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int tm = 1; tm <= threads; ++tm) {
    if (threads % tm != 0 || tm > m_panels) continue;
    for (int tn = 1; tn <= threads / tm; ++tn) {
      if ((threads / tm) % tn != 0 || tn > n_panels) continue;
      const int tk = threads / (tm * tn);
      if (tk > ceil_div(k, 16)) continue;  // every K slice gets >= 16 (see split_at)
      const double mp = static_cast<double>(ceil_div(m_panels, tm) * ops.mr);
      const double np = static_cast<double>(ceil_div(n_panels, tn) * ops.nr);
      const double kp = static_cast<double>(ceil_div(k, tk));
      double cost = 2.0 * mp * np * kp + kPackCost * (mp + np) * kp;
      if (tk > 1) cost += kReduceCost * static_cast<double>(m) * static_cast<double>(n) * (tk - 1);
      if (cost < best_cost) {
        best_cost = cost;
        best = Partition{tm, tn, tk};
      }
    }
  }
  return best;
}

// Start of chunk `i` of `count` when `panels` panels of `unit` are split as
// evenly as possible, clamped to `total`.
int64_t split_at(int64_t total, int64_t unit, int64_t count, int64_t i) {
  const int64_t panels = ceil_div(total, unit);
  return std::min(total, panels * i / count * unit);
}

// ---------------------------------------------------------------------------

template <typename T>
void check_args(const char* what, Trans ta, Trans tb, int64_t m, int64_t n,
                int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                int64_t ldb, const T* c, int64_t ldc) {
  const std::string fn = what;
  HNAS_CHECK(m >= 0 && n >= 0 && k >= 0, kInvalidArgument,
             fn + ": negative dimension (M=" + std::to_string(m) + ", N=" +
                 std::to_string(n) + ", K=" + std::to_string(k) + ")");
  if (m == 0 || n == 0) return;
  HNAS_CHECK(ldc >= n, kInvalidArgument,
             fn + ": ldc=" + std::to_string(ldc) + " is smaller than N=" + std::to_string(n));
  HNAS_CHECK(c != nullptr, kInvalidArgument, fn + ": C is null");
  if (k == 0 || alpha == T(0)) return;
  const int64_t a_row = ta == Trans::kNo ? k : m;
  const int64_t b_row = tb == Trans::kNo ? n : k;
  HNAS_CHECK(lda >= a_row, kInvalidArgument,
             fn + ": lda=" + std::to_string(lda) + " is smaller than the row length " +
                 std::to_string(a_row) + " of A");
  HNAS_CHECK(ldb >= b_row, kInvalidArgument,
             fn + ": ldb=" + std::to_string(ldb) + " is smaller than the row length " +
                 std::to_string(b_row) + " of B");
  HNAS_CHECK(a != nullptr && b != nullptr, kInvalidArgument, fn + ": A or B is null");
}

template <typename T>
void gemm_impl(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, T alpha,
               const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
               int64_t ldc) {
  check_args("gemm", ta, tb, m, n, k, alpha, a, lda, b, ldb, c, ldc);
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == T(0)) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                       static_cast<double>(k);
  int threads = in_parallel_region() ? 1 : num_threads();
  threads = static_cast<int>(std::max(
      1.0, std::min<double>(threads, std::floor(flops / kMinFlopsPerThread))));

  if (flops <= kDirectMaxFlops || m == 1 || n == 1) {
    // Vector shapes are memory-bound: split the long side across threads.
    const bool by_rows = m >= n;
    const int64_t len = by_rows ? m : n;
    const int parts = static_cast<int>(std::min<int64_t>(threads, len));
    if (parts <= 1) {
      gemm_direct(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    }
    parallel_for(parts, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        const int64_t s = len * p / parts, e = len * (p + 1) / parts;
        if (by_rows) {
          gemm_direct(ta, tb, e - s, n, k, alpha, a_at(ta, a, lda, s, 0), lda, b,
                      ldb, beta, c + s * ldc, ldc);
        } else {
          gemm_direct(ta, tb, m, e - s, k, alpha, a, lda, b_at(tb, b, ldb, 0, s),
                      ldb, beta, c + s, ldc);
        }
      }
    });
    return;
  }

  const KernelOps<T>& ops = ops_of<T>(active_family());
  const Partition part = choose_partition(ops, m, n, k, threads);
  if (part.parts() == 1) {
    gemm_part(ops, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }

  // Partial products of K slices 1..tk-1, each a dense m x n matrix.
  T* partials = part.tk > 1 ? t_partials.get<T>((part.tk - 1) * m * n) : nullptr;
  parallel_for(part.parts(), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const int64_t pi = p % part.tm;
      const int64_t pj = (p / part.tm) % part.tn;
      const int64_t pk = p / (part.tm * part.tn);
      const int64_t i0 = split_at(m, ops.mr, part.tm, pi);
      const int64_t i1 = split_at(m, ops.mr, part.tm, pi + 1);
      const int64_t j0 = split_at(n, ops.nr, part.tn, pj);
      const int64_t j1 = split_at(n, ops.nr, part.tn, pj + 1);
      // K slices start on multiples of 16 elements (keeps row alignment).
      const int64_t k0 = split_at(k, 16, part.tk, pk);
      const int64_t k1 = split_at(k, 16, part.tk, pk + 1);
      if (i1 <= i0 || j1 <= j0 || k1 <= k0) continue;
      const T* ap = a_at(ta, a, lda, i0, k0);
      const T* bp = b_at(tb, b, ldb, k0, j0);
      if (pk == 0) {
        gemm_part(ops, ta, tb, i1 - i0, j1 - j0, k1 - k0, alpha, ap, lda, bp,
                  ldb, beta, c + i0 * ldc + j0, ldc);
      } else {
        T* dst = partials + (pk - 1) * m * n + i0 * n + j0;
        gemm_part(ops, ta, tb, i1 - i0, j1 - j0, k1 - k0, alpha, ap, lda, bp,
                  ldb, T(0), dst, n);
      }
    }
  });
  if (part.tk == 1) return;

  // C += sum of the partials (alpha is already applied).
  const int tk = part.tk;
  auto reduce_rows = [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      T* crow = c + i * ldc;
      for (int s = 0; s < tk - 1; ++s) {
        const T* prow = partials + s * m * n + i * n;
        for (int64_t j = 0; j < n; ++j) crow[j] += prow[j];
      }
    }
  };
  const int64_t row_grain = std::max<int64_t>(1, (1 << 16) / n);
  parallel_for(m, row_grain, reduce_rows);
}

}  // namespace

void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
          float* C, int64_t ldc) {
  gemm_impl<float>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, double alpha,
          const double* A, int64_t lda, const double* B, int64_t ldb,
          double beta, double* C, int64_t ldc) {
  gemm_impl<double>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <typename T>
void gemm_reference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K,
                    T alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
                    T beta, T* C, int64_t ldc) {
  check_args("gemm_reference", ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc);
  // Accumulate in double so that, for float, the reference is markedly more
  // accurate than the code under test.
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0.0;
      if (alpha != T(0)) {
        for (int64_t p = 0; p < K; ++p) {
          sum += static_cast<double>(*a_at(ta, A, lda, i, p)) *
                 static_cast<double>(*b_at(tb, B, ldb, p, j));
        }
      }
      T& cij = C[i * ldc + j];
      const double scaled = static_cast<double>(alpha) * sum;
      cij = beta == T(0) ? static_cast<T>(scaled)
                         : static_cast<T>(scaled + static_cast<double>(beta) * cij);
    }
  }
}

template void gemm_reference<float>(Trans, Trans, int64_t, int64_t, int64_t,
                                    float, const float*, int64_t, const float*,
                                    int64_t, float, float*, int64_t);
template void gemm_reference<double>(Trans, Trans, int64_t, int64_t, int64_t,
                                     double, const double*, int64_t,
                                     const double*, int64_t, double, double*,
                                     int64_t);

std::string gemm_kernel_name() { return active_family().name; }

void gemm_force_kernel(const std::string& name) {
  if (name == "auto") {
    g_forced_family.store(nullptr, std::memory_order_release);
    return;
  }
  const KernelFamily* family = nullptr;
  if (name == "portable") {
    family = &gemm_detail::portable_family();
  } else if (name == "avx2" || name == "avx512") {
#if HNAS_GEMM_HAVE_X86
    const CpuFeatures& f = cpu_features();
    if (name == "avx2" && f.has_avx2_fma()) family = &gemm_detail::avx2_family();
    if (name == "avx512" && f.has_avx512_gemm()) family = &gemm_detail::avx512_family();
#endif
    HNAS_CHECK(family != nullptr, kUnsupported,
               "gemm_force_kernel: kernel '" + name +
                   "' is not supported on this CPU (features: " +
                   cpu_features_string() + ")");
  } else {
    fail(ErrorCode::kInvalidArgument,
         "gemm_force_kernel: unknown kernel '" + name +
             "' (expected auto, avx512, avx2 or portable)");
  }
  g_forced_family.store(family, std::memory_order_release);
}

}  // namespace hnas
