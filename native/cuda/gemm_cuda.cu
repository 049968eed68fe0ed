// SGEMM and DGEMM of our own (the toolkit on our build machines has no
// cuBLAS): classic shared-memory tiling with register blocking.
//
// A block computes a BM x BN tile of C with (BM/TM)·(BN/TN) threads, each
// owning TM x TN outputs spread with stride (BM/TM, BN/TN) so that shared-
// memory reads are conflict-free and C stores are coalesced. K advances in
// steps of BK: the block stages op(A)[BM x BK] and op(B)[BK x BN] in shared
// memory (zero-filled past the edges), then every thread does TM·TN FMAs per
// k. Transposition only changes how tiles are loaded (threads walk the
// contiguous dimension of the stored matrix), so it is a run-time flag, not
// a template parameter: four tile configurations in all keep the build fast.
#include <atomic>
#include <string>
#include <type_traits>

#include "cuda/cuda_api.h"
#include "cuda/ops_cuda.h"
#include "cuda/runtime.h"

namespace hnas {
namespace {

template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    gemm_tiled_kernel(int M, int N, int K, T alpha, const T* __restrict__ A, int64_t lda,
                      int64_t stride_a, bool ta, const T* __restrict__ B, int64_t ldb,
                      int64_t stride_b, bool tb, T beta, T* __restrict__ C, int64_t ldc,
                      int64_t stride_c) {
  constexpr int TX = BN / TN, TY = BM / TM, NT = TX * TY;
  __shared__ T As[BK][BM + 1];  // As[k][i] = op(A)(m0 + i, k0 + k)
  __shared__ T Bs[BK][BN + 1];  // Bs[k][j] = op(B)(k0 + k, n0 + j)
  const int tid = threadIdx.x;
  const int tx = tid % TX, ty = tid / TX;
  const int64_t z = blockIdx.z;
  A += z * stride_a;
  B += z * stride_b;
  C += z * stride_c;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;

  T acc[TM][TN];
  HNAS_UNROLL
  for (int r = 0; r < TM; ++r) {
    HNAS_UNROLL
    for (int c = 0; c < TN; ++c) acc[r][c] = T(0);
  }

  for (int k0 = 0; k0 < K; k0 += BK) {
    for (int e = tid; e < BM * BK; e += NT) {
      int i, k;
      if (ta) {  // stored K x M: consecutive threads along i
        i = e % BM;
        k = e / BM;
      } else {   // stored M x K: consecutive threads along k
        k = e % BK;
        i = e / BK;
      }
      const int gi = m0 + i, gk = k0 + k;
      T v = T(0);
      if (gi < M && gk < K) v = ta ? A[int64_t(gk) * lda + gi] : A[int64_t(gi) * lda + gk];
      As[k][i] = v;
    }
    for (int e = tid; e < BK * BN; e += NT) {
      int k, j;
      if (tb) {  // stored N x K: consecutive threads along k
        k = e % BK;
        j = e / BK;
      } else {   // stored K x N: consecutive threads along j
        j = e % BN;
        k = e / BN;
      }
      const int gk = k0 + k, gj = n0 + j;
      T v = T(0);
      if (gk < K && gj < N) v = tb ? B[int64_t(gj) * ldb + gk] : B[int64_t(gk) * ldb + gj];
      Bs[k][j] = v;
    }
    __syncthreads();
    HNAS_UNROLL
    for (int k = 0; k < BK; ++k) {
      T a[TM], b[TN];
      HNAS_UNROLL
      for (int r = 0; r < TM; ++r) a[r] = As[k][ty + r * TY];
      HNAS_UNROLL
      for (int c = 0; c < TN; ++c) b[c] = Bs[k][tx + c * TX];
      HNAS_UNROLL
      for (int r = 0; r < TM; ++r) {
        HNAS_UNROLL
        for (int c = 0; c < TN; ++c) acc[r][c] += a[r] * b[c];
      }
    }
    __syncthreads();
  }

  HNAS_UNROLL
  for (int r = 0; r < TM; ++r) {
    const int i = m0 + ty + r * TY;
    if (i >= M) continue;
    HNAS_UNROLL
    for (int c = 0; c < TN; ++c) {
      const int j = n0 + tx + c * TX;
      if (j >= N) continue;
      T* p = C + int64_t(i) * ldc + j;
      const T v = alpha * acc[r][c];
      *p = beta == T(0) ? v : v + beta * *p;  // beta == 0 never reads C
    }
  }
}

enum class Tile { k128x128, k64x64, k32x128 };

const char* tile_name(Tile t) {
  switch (t) {
    case Tile::k128x128: return "128x128";
    case Tile::k64x64: return "64x64";
    case Tile::k32x128: return "32x128";
  }
  return "?";
}

// -1: choose by size; else a Tile forced by gemm_cuda_force_tile (float only).
std::atomic<int> g_forced_tile{-1};

// Big tiles reuse each loaded element more but need enough of them to fill
// the device (assume an H100/H200-sized 132 SMs: two waves of big tiles).
Tile choose_tile(bool is_double, int64_t M, int64_t N, int64_t batch) {
  if (is_double) return Tile::k64x64;
  const int forced = g_forced_tile.load();
  if (forced >= 0) return static_cast<Tile>(forced);
  if (M <= 32) return Tile::k32x128;
  const int64_t big_tiles = ((M + 127) / 128) * ((N + 127) / 128) * batch;
  if (M >= 128 && N >= 128 && big_tiles >= 2 * 132) return Tile::k128x128;
  return Tile::k64x64;
}

template <typename T, int BM, int BN, int BK, int TM, int TN>
void launch_tiled(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta,
                  T* C, int64_t ldc, int64_t stride_c, int64_t batch) {
  auto gemm_kernel = gemm_tiled_kernel<T, BM, BN, BK, TM, TN>;
  const dim3 threads((BM / TM) * (BN / TN));
  const int64_t grid_m = (M + BM - 1) / BM, grid_n = (N + BN - 1) / BN;
  HNAS_CHECK(grid_m <= 65535, kUnsupported, "gemm_cuda: M too large for one launch");
  constexpr int64_t kMaxBatch = 65535;
  for (int64_t b0 = 0; b0 < batch; b0 += kMaxBatch) {
    const int64_t nb = batch - b0 < kMaxBatch ? batch - b0 : kMaxBatch;
    const dim3 grid(static_cast<unsigned>(grid_n), static_cast<unsigned>(grid_m),
                    static_cast<unsigned>(nb));
    HNAS_LAUNCH(gemm_kernel, grid, threads, cuda::current_stream())
    (static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A + b0 * stride_a, lda,
     stride_a, ta == Trans::kYes, B + b0 * stride_b, ldb, stride_b, tb == Trans::kYes, beta,
     C + b0 * stride_c, ldc, stride_c);
    cuda::check_launch("gemm_cuda");
  }
}

template <typename T>
void gemm_any_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                   int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b,
                   T beta, T* C, int64_t ldc, int64_t stride_c, int64_t batch) {
  HNAS_CHECK(M >= 0 && N >= 0 && K >= 0 && batch >= 0, kInvalidArgument,
             "gemm_cuda: negative dimension");
  constexpr int64_t kIntMax = 2147483647;
  HNAS_CHECK(M < kIntMax && N < kIntMax && K < kIntMax, kUnsupported,
             "gemm_cuda: a dimension is 2^31 or more");
  HNAS_CHECK(lda >= (ta == Trans::kYes ? M : K) && ldb >= (tb == Trans::kYes ? K : N) && ldc >= N,
             kInvalidArgument, "gemm_cuda: a leading dimension is smaller than its rows");
  if (M == 0 || N == 0 || batch == 0) return;
  if constexpr (!std::is_same_v<T, float>) {
    // One configuration for double and the dual numbers: 64 double
    // accumulators per thread (the 128x128 tile) would spill.
    launch_tiled<T, 64, 64, 8, 4, 4>(ta, tb, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b,
                                     beta, C, ldc, stride_c, batch);
  } else {
    switch (choose_tile(false, M, N, batch)) {
      case Tile::k128x128:
        launch_tiled<T, 128, 128, 8, 8, 8>(ta, tb, M, N, K, alpha, A, lda, stride_a, B, ldb,
                                           stride_b, beta, C, ldc, stride_c, batch);
        break;
      case Tile::k32x128:
        launch_tiled<T, 32, 128, 16, 2, 8>(ta, tb, M, N, K, alpha, A, lda, stride_a, B, ldb,
                                           stride_b, beta, C, ldc, stride_c, batch);
        break;
      case Tile::k64x64:
        launch_tiled<T, 64, 64, 16, 4, 4>(ta, tb, M, N, K, alpha, A, lda, stride_a, B, ldb,
                                          stride_b, beta, C, ldc, stride_c, batch);
        break;
    }
  }
}

}  // namespace

void gemm_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_any_cuda<float>(ta, tb, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}
void gemm_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, double alpha,
               const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
               double* C, int64_t ldc) {
  gemm_any_cuda<double>(ta, tb, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}
void gemm_batched_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha,
                       const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb,
                       int64_t stride_b, float beta, float* C, int64_t ldc, int64_t stride_c,
                       int64_t batch) {
  gemm_any_cuda<float>(ta, tb, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc,
                       stride_c, batch);
}
void gemm_batched_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, double alpha,
                       const double* A, int64_t lda, int64_t stride_a, const double* B,
                       int64_t ldb, int64_t stride_b, double beta, double* C, int64_t ldc,
                       int64_t stride_c, int64_t batch) {
  gemm_any_cuda<double>(ta, tb, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc,
                        stride_c, batch);
}

template <typename T>
void gemm_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, Dual<T> alpha, const Dual<T>* A,
               int64_t lda, const Dual<T>* B, int64_t ldb, Dual<T> beta, Dual<T>* C, int64_t ldc) {
  gemm_any_cuda<Dual<T>>(ta, tb, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}
template <typename T>
void gemm_batched_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, Dual<T> alpha,
                       const Dual<T>* A, int64_t lda, int64_t stride_a, const Dual<T>* B,
                       int64_t ldb, int64_t stride_b, Dual<T> beta, Dual<T>* C, int64_t ldc,
                       int64_t stride_c, int64_t batch) {
  gemm_any_cuda<Dual<T>>(ta, tb, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc,
                         stride_c, batch);
}
#define HNAS_INSTANTIATE_DUAL_GEMM_CUDA(T)                                                          \
  template void gemm_cuda<T>(Trans, Trans, int64_t, int64_t, int64_t, Dual<T>, const Dual<T>*,      \
                             int64_t, const Dual<T>*, int64_t, Dual<T>, Dual<T>*, int64_t);         \
  template void gemm_batched_cuda<T>(Trans, Trans, int64_t, int64_t, int64_t, Dual<T>,              \
                                     const Dual<T>*, int64_t, int64_t, const Dual<T>*, int64_t,     \
                                     int64_t, Dual<T>, Dual<T>*, int64_t, int64_t, int64_t);
HNAS_INSTANTIATE_DUAL_GEMM_CUDA(float)
HNAS_INSTANTIATE_DUAL_GEMM_CUDA(double)

const char* gemm_cuda_tile_name(bool is_double, int64_t M, int64_t N, int64_t batch) {
  return tile_name(choose_tile(is_double, M, N, batch));
}

void gemm_cuda_force_tile(const std::string& name) {
  if (name == "auto") {
    g_forced_tile = -1;
    return;
  }
  for (Tile t : {Tile::k128x128, Tile::k64x64, Tile::k32x128}) {
    if (name == tile_name(t)) {
      g_forced_tile = static_cast<int>(t);
      return;
    }
  }
  fail(ErrorCode::kInvalidArgument,
       "gemm_cuda_force_tile: unknown tile \"" + name + "\" (128x128, 64x64, 32x128 or auto)");
}

}  // namespace hnas
