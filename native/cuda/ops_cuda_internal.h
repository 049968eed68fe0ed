// Launchers of helper kernels that several CUDA ops share (tensor_ops_cuda.cu).
// Device pointers; work on cuda::current_stream().
#pragma once
#include <cstdint>

namespace hnas {
namespace cuda {

// y[r·ld + i] += bias[r] for r < rows, i < ld.
template <typename S>
void add_row_bias(S* y, const S* bias, int64_t rows, int64_t ld);

// For ch < channels, row < rows:
//   out[row·out_row_stride + ch·out_ch_stride] (+)= scale · Σ_{i<len} in[ch·in_ch_stride + row·len + i]
// summed in double (Dual<double> for dual numbers), one block per (ch, row). `accumulate` adds to out.
template <typename S>
void segment_sums(S* out, int64_t out_row_stride, int64_t out_ch_stride, const S* in,
                  int64_t channels, int64_t in_ch_stride, int64_t rows, int64_t len, double scale,
                  bool accumulate);

// Checked conversion of a size to int for kernel arguments.
int to_int(int64_t v, const char* what);

}  // namespace cuda
}  // namespace hnas
