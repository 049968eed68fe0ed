// CUDA twins of the CPU ops (ops/ops.h) and of the CPU GEMM (core/gemm.h):
// same names with `_cuda` for `_cpu`, same arguments, same layout (CNHW),
// same accumulate-into-gradients contract. Differences:
//  - every pointer is device memory (cuda/device_memory.h);
//  - work is queued on cuda::current_stream() and is asynchronous: the
//    results are there once the stream is synchronised (a download does it);
//  - scalars are float and double, and Dual<float> / Dual<double> for the
//    forward-over-reverse passes of Hessian-vector products (the real ops'
//    tests cover the kernels' logic; the dual instantiations are checked
//    end to end by the engine's HVP parity test);
//  - the kernels are deterministic (no atomics): gradients that the CPU ops
//    scatter are gathered per output element instead.
// Each op is validated against its CPU twin by test/native/cudaParity.test.ts.
#pragma once
#include <cstdint>
#include <string>

#include "core/dual.h"
#include "core/gemm.h"
#include "core/tensor.h"
#include "ops/ops.h"

namespace hnas {

// --- GEMM ------------------------------------------------------------------
// C = alpha·op(A)·op(B) + beta·C on row-major matrices, as hnas::gemm;
// beta == 0 never reads C. Tiled kernels of our own (no cuBLAS).
void gemm_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, double alpha,
               const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
               double* C, int64_t ldc);
// `batch` independent GEMMs; matrix i starts at A + i·stride_a (B, C alike).
void gemm_batched_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha,
                       const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb,
                       int64_t stride_b, float beta, float* C, int64_t ldc, int64_t stride_c,
                       int64_t batch);
void gemm_batched_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, double alpha,
                       const double* A, int64_t lda, int64_t stride_a, const double* B,
                       int64_t ldb, int64_t stride_b, double beta, double* C, int64_t ldc,
                       int64_t stride_c, int64_t batch);
// Dual numbers (Hessian-vector products): the same tiled kernel on Dual<T>
// elements, in the double configuration.
template <typename T>
void gemm_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, Dual<T> alpha, const Dual<T>* A,
               int64_t lda, const Dual<T>* B, int64_t ldb, Dual<T> beta, Dual<T>* C, int64_t ldc);
template <typename T>
void gemm_batched_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, Dual<T> alpha,
                       const Dual<T>* A, int64_t lda, int64_t stride_a, const Dual<T>* B,
                       int64_t ldb, int64_t stride_b, Dual<T> beta, Dual<T>* C, int64_t ldc,
                       int64_t stride_c, int64_t batch);
// Which tile configuration gemm_cuda picks for these sizes ("128x128",
// "64x64", "32x128"): for benchmarks and tests.
const char* gemm_cuda_tile_name(bool is_double, int64_t M, int64_t N, int64_t batch);
// Forces the float tile configuration for every size ("128x128", "64x64",
// "32x128"), so tests cover each on small matrices; "auto" restores the
// choice by size. Throws kInvalidArgument for another name.
void gemm_cuda_force_tile(const std::string& name);

// --- Conv2d ------------------------------------------------------------------
template <typename S>
void conv2d_forward_cuda(S* y, const S* x, const S* w, const S* bias, const Shape4& xs,
                         int64_t cout, const Conv2dParams& p);
template <typename S>
void conv2d_backward_cuda(S* dx, GradRows<S> dw, GradRows<S> dbias, const S* dy, const S* x,
                          const S* w, const Shape4& xs, int64_t cout, const Conv2dParams& p,
                          int64_t copies, ParamGradMode mode);

// --- BatchNorm2d ---------------------------------------------------------------
template <typename S>
void batch_norm_forward_cuda(S* y, S* save_mean, S* save_rstd, const S* x, const S* gamma,
                             const S* beta, const S* run_mean, const S* run_var, const Shape4& xs,
                             BnMode mode, double eps);
template <typename S>
void batch_norm_backward_cuda(S* dx, GradRows<S> dgamma, GradRows<S> dbeta, const S* dy,
                              const S* x, const S* save_mean, const S* save_rstd, const S* gamma,
                              const Shape4& xs, BnMode mode, int64_t copies, ParamGradMode pmode);

// --- ReLU ----------------------------------------------------------------------
template <typename S>
void relu_forward_cuda(S* y, const S* x, int64_t n);
template <typename S>
void relu_backward_cuda(S* dx, const S* dy, const S* x, const Shape4& xs, int64_t copies);

// --- Pooling -------------------------------------------------------------------
template <typename S>
void avg_pool2d_forward_cuda(S* y, const S* x, const Shape4& xs, const Pool2dParams& p);
template <typename S>
void avg_pool2d_backward_cuda(S* dx, const S* dy, const Shape4& xs, const Pool2dParams& p,
                              int64_t copies);
template <typename S>
void max_pool2d_forward_cuda(S* y, const S* x, const Shape4& xs, const Pool2dParams& p);
template <typename S>
void max_pool2d_backward_cuda(S* dx, const S* dy, const S* x, const Shape4& xs,
                              const Pool2dParams& p, int64_t copies);
template <typename S>
void global_avg_pool_forward_cuda(S* y, const S* x, const Shape4& xs);
template <typename S>
void global_avg_pool_backward_cuda(S* dx, const S* dy, const Shape4& xs, int64_t copies);

// --- Linear ----------------------------------------------------------------------
template <typename S>
void linear_forward_cuda(S* y, const S* x, const S* w, const S* bias, int64_t f, int64_t k,
                         int64_t n);
template <typename S>
void linear_backward_cuda(S* dx, GradRows<S> dw, GradRows<S> dbias, const S* dy, const S* x,
                          const S* w, int64_t f, int64_t k, int64_t n, int64_t copies,
                          ParamGradMode mode);

// --- Element-wise ------------------------------------------------------------------
template <typename S>
void add_forward_cuda(S* y, const S* a, const S* b, int64_t n);
template <typename S>
void scale_accumulate_cuda(S* dx, const S* dy, double scale, int64_t n);  // dx += scale·dy
template <typename S>
void mul_const_forward_cuda(S* y, const S* x, double value, int64_t n);

// --- Shape ops, drop-path scaling, BN running statistics (shape_ops_cuda.cu) -------------
// concat/slice/flatten/sample_scale as ops/ops.h; xs / dxs are host arrays of
// device pointers (dxs entries may be null).
template <typename S>
void concat_forward_cuda(S* y, const S* const* xs, const int64_t* block_sizes, int64_t count);
template <typename S>
void concat_backward_cuda(S* const* dxs, const S* dy, const int64_t* block_sizes, int64_t count);
template <typename S>
void slice_forward_cuda(S* y, const S* x, const Shape4& xs, const SliceParams& p);
template <typename S>
void slice_backward_cuda(S* dx, const S* dy, const Shape4& xs, const SliceParams& p, int64_t copies);
template <typename S>
void sample_scale_cuda(S* x, const S* scale, int64_t c, int64_t n, int64_t plane, int64_t copies);
template <typename S>
void flatten_forward_cuda(S* y, const S* x, const Shape4& xs);
template <typename S>
void flatten_backward_cuda(S* dx, const S* dy, const Shape4& xs, int64_t copies);
template <typename S>
void batch_norm_update_running_cuda(S* run_mean, S* run_var, const S* x, const Shape4& xs,
                                    double momentum);
// The rows×width block of x (leading dimension ldx) widened to a contiguous
// double matrix: Θ is accumulated in float64 from float32 gradient rows.
template <typename S>
void to_double_cuda(double* y, const S* x, int64_t rows, int64_t width, int64_t ldx);

}  // namespace hnas
