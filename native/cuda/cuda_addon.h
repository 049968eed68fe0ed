// N-API side of the CUDA path: device queries, build facts and the raw
// kernel entry points used by the parity tests and the GPU benchmark.
// Compiled only in builds with the CUDA path (real or emulated); addon.cpp
// registers CPU-only stand-ins otherwise.
//
// (N-API code belongs in native/addon/; this file sits in native/cuda/ so
// that the CPU-only build and binding.gyp never see it. Move it when the
// engine's device path lands and the ownership of native/addon allows.)
#pragma once
#include <napi.h>

namespace hnas {
namespace cuda {

// Sets cudaCompiled, cudaEmulated, cudaRuntimeVersion, cudaArchitectures and
// cudaCompilerVersion on buildInfo()'s object.
void add_cuda_build_info(Napi::Env env, Napi::Object info);

// exports.cudaStatus(), cudaDevices(), cudaReleaseMemory(), cudaOps, cpuOps.
void register_cuda_exports(Napi::Env env, Napi::Object exports);

}  // namespace cuda
}  // namespace hnas
