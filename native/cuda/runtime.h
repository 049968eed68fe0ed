// The CUDA device runtime as the rest of hnas sees it: which devices exist,
// streams, and the error type for "no device can serve this". Plain C++ (no
// CUDA headers), so engine and addon code can include it; the definitions
// live in runtime.cpp and exist only in builds with the CUDA path
// (HNAS_WITH_CUDA, or HNAS_CUDA_EMULATED for the host emulator).
//
// Every CUDA failure is a C++ exception (hnas::Error or a subclass): native
// code never exits. "No driver" and "no device" are not failures of the
// queries below: they report zero devices and say why.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

struct CUstream_st;  // cudaStream_t is CUstream_st*

namespace hnas {
namespace cuda {

using StreamHandle = CUstream_st*;

// Why CUDA can or cannot be used on this machine. The numbers are not shared
// with TypeScript (it sees the names from status_name()).
enum class DeviceStatus {
  kAvailable,    // at least one device
  kNotCompiled,  // this build has no CUDA device code (CPU-only or emulated)
  kNoDriver,     // no CUDA driver (libcuda) or one too old for this runtime
  kNoDevice,     // a driver but no usable device
  kDriverError,  // the driver or runtime failed in another way
};
// "available", "not-compiled", "no-driver", "no-device", "driver-error".
const char* status_name(DeviceStatus s);

struct Availability {
  DeviceStatus status = DeviceStatus::kNotCompiled;
  int device_count = 0;
  int driver_version = 0;  // e.g. 13000 for 13.0; 0 without a driver
  std::string message;     // the runtime's words when status is not kAvailable
};

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  int multiprocessors = 0;
  size_t total_bytes = 0;
  size_t free_bytes = 0;
};

// A request for the device that cannot be served (no device, no driver, not
// compiled in). Code kUnsupported for C++ callers; the addon turns it into a
// JS error with code ERR_HNAS_DEVICE_UNAVAILABLE and `reason` = status_name.
class DeviceUnavailableError : public Error {
 public:
  DeviceUnavailableError(DeviceStatus status, const std::string& message)
      : Error(ErrorCode::kUnsupported, message), status_(status) {}
  DeviceStatus status() const { return status_; }

 private:
  DeviceStatus status_;
};

// Never throws. Probed once and cached (the CUDA runtime's own answer does
// not change within a process).
const Availability& availability();
// The devices, with their free memory now; empty when none is available.
std::vector<DeviceInfo> devices();
// Version of the CUDA runtime linked in (e.g. 13000), 0 in a build without one.
int runtime_version();
// Architectures the kernels were compiled for, as CMake listed them
// ("90-real;90-virtual"), or "emulated".
const char* compiled_architectures();
// The nvcc version that built the kernels ("13.0.88"), or "".
const char* compiler_version();
// True in the HNAS_CUDA=EMULATE build: kernels run on the host emulator.
bool emulated();

// Throws DeviceUnavailableError unless kernels can run: a device is present
// (or this is the emulated build). Work goes to the calling thread's current
// CUDA device (the runtime's default: device 0).
void require_device();

// An owned CUDA stream on the current device. Each engine owns one; work on
// different streams may overlap. Destroying a stream waits for its work.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  StreamHandle handle() const { return handle_; }
  int device() const { return device_; }
  void synchronize() const;

 private:
  StreamHandle handle_ = nullptr;
  int device_ = 0;
};

// The stream the *_cuda ops and device buffers of this thread use: the one
// set by the innermost StreamGuard, else the legacy default stream (nullptr).
// The ops keep the CPU ops' signatures, so the stream is context, not an
// argument.
StreamHandle current_stream();
class StreamGuard {
 public:
  explicit StreamGuard(const Stream& s);
  explicit StreamGuard(StreamHandle h);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  StreamHandle previous_;
};

// Waits for all work on the current stream; throws the first error a kernel
// raised on it (CUDA reports asynchronous faults at the next sync).
void synchronize();

}  // namespace cuda
}  // namespace hnas
