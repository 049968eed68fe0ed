// Device queries, streams and CUDA error handling (see runtime.h).
#include "cuda/runtime.h"

#include <string>

#include "cuda/cuda_api.h"
#include "cuda/device_memory.h"
#include "hnas_cuda_config.h"

namespace hnas {
namespace cuda {

const char* status_name(DeviceStatus s) {
  switch (s) {
    case DeviceStatus::kAvailable: return "available";
    case DeviceStatus::kNotCompiled: return "not-compiled";
    case DeviceStatus::kNoDriver: return "no-driver";
    case DeviceStatus::kNoDevice: return "no-device";
    case DeviceStatus::kDriverError: return "driver-error";
  }
  return "driver-error";
}

namespace {

std::string describe(cudaError_t err) {
  return std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ")";
}

#if !defined(HNAS_CUDA_EMULATED)
DeviceStatus status_of(cudaError_t err) {
  switch (err) {
    case cudaErrorInsufficientDriver:
#if defined(CUDART_VERSION) && CUDART_VERSION >= 12000
    case cudaErrorCallRequiresNewerDriver:
#endif
    case cudaErrorStubLibrary:
      return DeviceStatus::kNoDriver;
    case cudaErrorNoDevice:
    case cudaErrorDevicesUnavailable:
    case cudaErrorInvalidDevice:
      return DeviceStatus::kNoDevice;
    default:
      return DeviceStatus::kDriverError;
  }
}

Availability probe() {
  Availability a;
  int driver = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess) a.driver_version = driver;
  (void)cudaGetLastError();
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear it: a missing device is not a sticky error
    a.status = status_of(err);
    if (a.status == DeviceStatus::kNoDevice && a.driver_version == 0) a.status = DeviceStatus::kNoDriver;
    a.message = describe(err);
    return a;
  }
  if (count == 0) {
    a.status = DeviceStatus::kNoDevice;
    a.message = "the CUDA driver reports no device";
    return a;
  }
  a.status = DeviceStatus::kAvailable;
  a.device_count = count;
  return a;
}
#endif

}  // namespace

const Availability& availability() {
#if defined(HNAS_CUDA_EMULATED)
  static const Availability a{DeviceStatus::kNotCompiled, 0, 0,
                              "this build runs the CUDA kernels on the host emulator (HNAS_CUDA=EMULATE)"};
#else
  static const Availability a = probe();
#endif
  return a;
}

std::vector<DeviceInfo> devices() {
  std::vector<DeviceInfo> out;
  const Availability& a = availability();
  if (a.status != DeviceStatus::kAvailable) return out;
#if !defined(HNAS_CUDA_EMULATED)
  int current = 0;
  HNAS_CUDA_CHECK(cudaGetDevice(&current));
  for (int i = 0; i < a.device_count; ++i) {
    cudaDeviceProp prop{};
    HNAS_CUDA_CHECK(cudaGetDeviceProperties(&prop, i));
    DeviceInfo d;
    d.index = i;
    d.name = prop.name;
    d.major = prop.major;
    d.minor = prop.minor;
    d.multiprocessors = prop.multiProcessorCount;
    d.total_bytes = prop.totalGlobalMem;
    // Free memory needs a context on that device (created on first use).
    HNAS_CUDA_CHECK(cudaSetDevice(i));
    size_t free_b = 0, total_b = 0;
    HNAS_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    d.free_bytes = free_b;
    out.push_back(std::move(d));
  }
  HNAS_CUDA_CHECK(cudaSetDevice(current));
#endif
  return out;
}

int runtime_version() {
#if defined(HNAS_CUDA_EMULATED)
  return 0;
#else
  int v = 0;
  if (cudaRuntimeGetVersion(&v) != cudaSuccess) {
    (void)cudaGetLastError();
    return CUDART_VERSION;
  }
  return v;
#endif
}

const char* compiled_architectures() { return HNAS_CUDA_ARCHITECTURES; }
const char* compiler_version() { return HNAS_CUDA_COMPILER_VERSION; }

bool emulated() {
#if defined(HNAS_CUDA_EMULATED)
  return true;
#else
  return false;
#endif
}

void require_device() {
  if (emulated()) return;
  const Availability& a = availability();
  if (a.status == DeviceStatus::kAvailable) return;
  std::string why;
  switch (a.status) {
    case DeviceStatus::kNoDriver: why = "no CUDA driver"; break;
    case DeviceStatus::kNoDevice: why = "no CUDA device"; break;
    case DeviceStatus::kNotCompiled: why = "CUDA was not compiled in"; break;
    default: why = "the CUDA driver failed"; break;
  }
  throw DeviceUnavailableError(a.status, "CUDA device unavailable: " + why +
                                             (a.message.empty() ? "" : " — " + a.message));
}

// --- errors --------------------------------------------------------------------
void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line) {
  std::string where = std::string(what) + " at " + file + ":" + std::to_string(line);
  const std::string msg = "CUDA error " + describe(err) + " in " + where;
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // not sticky: the context stays usable
    throw Error(ErrorCode::kOutOfMemory, "CUDA out of memory: " + msg);
  }
#if !defined(HNAS_CUDA_EMULATED)
  const DeviceStatus s = status_of(err);
  if (s == DeviceStatus::kNoDriver || s == DeviceStatus::kNoDevice) {
    (void)cudaGetLastError();
    throw DeviceUnavailableError(s, msg);
  }
#endif
  throw Error(ErrorCode::kInternal, msg);
}

void check_launch(const char* what) {
  const cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess) return;
  const std::string msg = "CUDA error " + describe(err) + " launching the kernel of " + what;
  if (err == cudaErrorMemoryAllocation) throw Error(ErrorCode::kOutOfMemory, "CUDA out of memory: " + msg);
#if !defined(HNAS_CUDA_EMULATED)
  const DeviceStatus s = status_of(err);
  if (s == DeviceStatus::kNoDriver || s == DeviceStatus::kNoDevice) throw DeviceUnavailableError(s, msg);
#endif
  throw Error(ErrorCode::kInternal, msg);
}

// --- streams -------------------------------------------------------------------
namespace {
thread_local StreamHandle t_current_stream = nullptr;
}

Stream::Stream() {
  require_device();
  HNAS_CUDA_CHECK(cudaGetDevice(&device_));
  cudaStream_t s = nullptr;
  HNAS_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  handle_ = s;
}

Stream::~Stream() {
  if (!handle_) return;
  // Never throws from a destructor: a failed sync leaves the error to the
  // next CUDA call.
  (void)cudaStreamSynchronize(handle_);
  device_memory_stream_retired(handle_);
  (void)cudaStreamDestroy(handle_);
  (void)cudaGetLastError();
}

void Stream::synchronize() const { HNAS_CUDA_CHECK(cudaStreamSynchronize(handle_)); }

StreamHandle current_stream() { return t_current_stream; }

StreamGuard::StreamGuard(const Stream& s) : previous_(t_current_stream) { t_current_stream = s.handle(); }
StreamGuard::StreamGuard(StreamHandle h) : previous_(t_current_stream) { t_current_stream = h; }
StreamGuard::~StreamGuard() { t_current_stream = previous_; }

void synchronize() { HNAS_CUDA_CHECK(cudaStreamSynchronize(current_stream())); }

}  // namespace cuda
}  // namespace hnas
