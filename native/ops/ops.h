// Forward/backward pairs of every op, CPU reference implementations.
//
// Conventions (llm.c style): outputs first, then saved-for-backward, then
// inputs, then weights, then dims. Backward *accumulates* (+=) into dx and
// parameter gradients; zeroing is the caller's job. Layout is CNHW (see
// core/tensor.h). Backward passes take `copies` (B): the incoming gradient
// holds B cotangents for the same forward batch of N samples, as [C][B·N][H][W].
//
// Parameter gradients come in two shapes, chosen by ParamGradMode:
//   kSum        one row per cotangent copy: Σ_n over the batch (the ordinary
//               gradient, and the "exact" per-sample mode where each copy's
//               cotangent is one sample's output)
//   kPerSample  one row per (copy, sample): the per-sample decomposition
//               ("decomposed" mode: each sample's activations times its own
//               back-propagated gradient)
// Rows are written to `grad_rows` with row stride `row_stride`, each row
// laid out like the parameter itself; rows are ordered copy-major (b·N + n).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace hnas {

enum class ParamGradMode { kSum, kPerSample };

// Where a parameter's gradient rows go; data == nullptr means "not wanted".
template <typename S>
struct GradRows {
  S* data = nullptr;
  int64_t row_stride = 0;
  bool wanted() const { return data != nullptr; }
};

struct Conv2dParams {
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  int64_t dil_h = 1, dil_w = 1;
  int64_t groups = 1;
};

// Output spatial size of a window op; throws kInvalidArgument when empty.
int64_t window_out(int64_t in, int64_t k, int64_t stride, int64_t pad_begin, int64_t pad_end,
                   int64_t dilation);

// --- Conv2d --------------------------------------------------------------
// w: [Cout, Cin/groups, kh, kw]; bias: [Cout] or nullptr.
template <typename S>
void conv2d_forward_cpu(S* y, const S* x, const S* w, const S* bias, const Shape4& xs,
                        int64_t cout, const Conv2dParams& p);
template <typename S>
void conv2d_backward_cpu(S* dx, GradRows<S> dw, GradRows<S> dbias, const S* dy, const S* x,
                         const S* w, const Shape4& xs, int64_t cout, const Conv2dParams& p,
                         int64_t copies, ParamGradMode mode);

// --- BatchNorm2d ---------------------------------------------------------
enum class BnMode { kTrain, kEval, kIdentity };
// Forward saves per-channel mean and 1/sqrt(var + eps) (the statistics used:
// batch statistics in kTrain, running statistics in kEval). gamma/beta may be
// nullptr (non-affine); run_mean/run_var are read in kEval only.
// update_running: running ← (1 − momentum)·running + momentum·batch, with the
// unbiased batch variance (PyTorch's rule), from the batch x of a kTrain pass.
template <typename S>
void batch_norm_forward_cpu(S* y, S* save_mean, S* save_rstd, const S* x, const S* gamma,
                            const S* beta, const S* run_mean, const S* run_var, const Shape4& xs,
                            BnMode mode, double eps);
template <typename S>
void batch_norm_update_running_cpu(S* run_mean, S* run_var, const S* x, const Shape4& xs,
                                   double momentum);
template <typename S>
void batch_norm_backward_cpu(S* dx, GradRows<S> dgamma, GradRows<S> dbeta, const S* dy,
                             const S* x, const S* save_mean, const S* save_rstd, const S* gamma,
                             const Shape4& xs, BnMode mode, int64_t copies, ParamGradMode pmode);

// --- ReLU ------------------------------------------------------------------
template <typename S>
void relu_forward_cpu(S* y, const S* x, int64_t n);
// x: the forward input [C][N][plane]; dy/dx: [C][B·N][plane].
template <typename S>
void relu_backward_cpu(S* dx, const S* dy, const S* x, const Shape4& xs, int64_t copies);

// --- Pooling -------------------------------------------------------------
struct Pool2dParams {
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  int64_t dil_h = 1, dil_w = 1;  // max pool only
  bool count_include_pad = false;  // avg pool only
};
template <typename S>
void avg_pool2d_forward_cpu(S* y, const S* x, const Shape4& xs, const Pool2dParams& p);
template <typename S>
void avg_pool2d_backward_cpu(S* dx, const S* dy, const Shape4& xs, const Pool2dParams& p,
                             int64_t copies);
// Max pool: padding never wins (acts as -inf); ties go to the first maximum.
template <typename S>
void max_pool2d_forward_cpu(S* y, const S* x, const Shape4& xs, const Pool2dParams& p);
template <typename S>
void max_pool2d_backward_cpu(S* dx, const S* dy, const S* x, const Shape4& xs,
                             const Pool2dParams& p, int64_t copies);
// Global average pool: [C][N][H][W] -> [C][N].
template <typename S>
void global_avg_pool_forward_cpu(S* y, const S* x, const Shape4& xs);
template <typename S>
void global_avg_pool_backward_cpu(S* dx, const S* dy, const Shape4& xs, int64_t copies);

// --- Linear (Gemm) -----------------------------------------------------------
// x: [F][N]; w: [K][F]; bias [K] or nullptr; y: [K][N].
template <typename S>
void linear_forward_cpu(S* y, const S* x, const S* w, const S* bias, int64_t f, int64_t k,
                        int64_t n);
template <typename S>
void linear_backward_cpu(S* dx, GradRows<S> dw, GradRows<S> dbias, const S* dy, const S* x,
                         const S* w, int64_t f, int64_t k, int64_t n, int64_t copies,
                         ParamGradMode mode);

// --- Elementwise and shape ops ---------------------------------------------
template <typename S>
void add_forward_cpu(S* y, const S* a, const S* b, int64_t n);
template <typename S>
void scale_accumulate_cpu(S* dx, const S* dy, double scale, int64_t n);  // dx += scale·dy
template <typename S>
void mul_const_forward_cpu(S* y, const S* x, double value, int64_t n);

// Concat along channels: in CNHW every input is one contiguous block.
template <typename S>
void concat_forward_cpu(S* y, const S* const* xs, const int64_t* block_sizes, int64_t count);
template <typename S>
void concat_backward_cpu(S* const* dxs, const S* dy, const int64_t* block_sizes, int64_t count);

struct SliceParams {
  int64_t start_h = 0, start_w = 0, end_h = 0, end_w = 0, step_h = 1, step_w = 1;
};
int64_t slice_out(int64_t start, int64_t end, int64_t step);
template <typename S>
void slice_forward_cpu(S* y, const S* x, const Shape4& xs, const SliceParams& p);
template <typename S>
void slice_backward_cpu(S* dx, const S* dy, const Shape4& xs, const SliceParams& p,
                        int64_t copies);

// Per-sample scaling, in place: x[c][b·N + s][·] *= scale[s] for every
// channel c and copy b (x: [C][B·N][plane]). DARTS' drop-path multiplies an
// op's output by mask_s / keep_prob in forward (B = 1) and its gradient by the
// same factors in backward.
template <typename S>
void sample_scale_cpu(S* x, const S* scale, int64_t c, int64_t n, int64_t plane, int64_t copies);

// Flatten [C][N][H][W] -> [C·H·W][N] (feature index c·H·W + h·W + w).
template <typename S>
void flatten_forward_cpu(S* y, const S* x, const Shape4& xs);
template <typename S>
void flatten_backward_cpu(S* dx, const S* dy, const Shape4& xs, int64_t copies);

}  // namespace hnas
