// The device caching allocator (see device_memory.h).
#include "cuda/device_memory.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

#include "cuda/cuda_api.h"

namespace hnas {
namespace cuda {
namespace {

// At most this much freed device memory is kept for reuse.
constexpr size_t kMaxCached = size_t(8) << 30;
constexpr size_t kMinBlock = 512;

// Size classes: powers of two up to 1 MiB, then four steps per power of two
// (at most 25 % unused).
size_t size_class(size_t bytes) {
  size_t p = kMinBlock;
  while (p < bytes) p <<= 1;
  if (p <= (size_t(1) << 20)) return p;
  const size_t q = p >> 3;
  for (size_t c = (p >> 1) + q; c < p; c += q)
    if (c >= bytes) return c;
  return p;
}

// Blocks of a stream that has been destroyed are usable by any stream.
StreamHandle const kRetired = reinterpret_cast<StreamHandle>(~uintptr_t(0));

class DevicePool {
 public:
  void* allocate(size_t bytes, StreamHandle stream) {
    const size_t cls = size_class(bytes == 0 ? 1 : bytes);
    int device = 0;
    HNAS_CUDA_CHECK(cudaGetDevice(&device));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (StreamHandle key : {stream, kRetired}) {
        auto list = free_.find({device, key});
        if (list == free_.end()) continue;
        auto it = list->second.lower_bound(cls);
        if (it == list->second.end() || it->first > cls + cls / 2) continue;
        void* p = it->second;
        const size_t got = it->first;
        cached_ -= got;
        list->second.erase(it);
        in_use_ += got;
        sizes_[p] = got;
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, cls);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      release();
      err = cudaMalloc(&p, cls);
    }
    if (err != cudaSuccess) throw_cuda_error(err, "cudaMalloc", __FILE__, __LINE__);
    std::lock_guard<std::mutex> lock(mutex_);
    in_use_ += cls;
    sizes_[p] = cls;
    return p;
  }

  void deallocate(void* p, StreamHandle stream) noexcept {
    if (!p) return;
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) (void)cudaGetLastError();
    std::lock_guard<std::mutex> lock(mutex_);
    auto s = sizes_.find(p);
    if (s == sizes_.end()) return;  // not ours: never happens
    const size_t cls = s->second;
    sizes_.erase(s);
    in_use_ -= cls;
    if (cached_ + cls <= kMaxCached) {
      free_[{device, stream}].emplace(cls, p);
      cached_ += cls;
      return;
    }
    (void)cudaFree(p);  // synchronises, so pending work on p completes first
    (void)cudaGetLastError();
  }

  size_t release() noexcept {
    // Pending kernels may still use cached blocks of their stream.
    (void)cudaDeviceSynchronize();
    (void)cudaGetLastError();
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t n = cached_;
    for (auto& [key, list] : free_)
      for (auto& [cls, p] : list) (void)cudaFree(p);
    (void)cudaGetLastError();
    free_.clear();
    cached_ = 0;
    return n;
  }

  void retire(StreamHandle stream) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = free_.begin(); it != free_.end();) {
      if (it->first.second == stream) {
        auto& dst = free_[{it->first.first, kRetired}];
        for (auto& [cls, p] : it->second) dst.emplace(cls, p);
        it = free_.erase(it);
      } else {
        ++it;
      }
    }
  }

  size_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }
  size_t in_use() {
    std::lock_guard<std::mutex> lock(mutex_);
    return in_use_;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<int, StreamHandle>, std::multimap<size_t, void*>> free_;
  std::map<void*, size_t> sizes_;
  size_t cached_ = 0;
  size_t in_use_ = 0;
};

DevicePool& pool() {
  static DevicePool* p = new DevicePool();  // never destroyed: safe at process exit
  return *p;
}

}  // namespace

void* device_allocate(size_t bytes, StreamHandle stream) { return pool().allocate(bytes, stream); }
void device_deallocate(void* p, size_t, StreamHandle stream) noexcept { pool().deallocate(p, stream); }
size_t device_release_cached() { return pool().release(); }
size_t device_cached_bytes() { return pool().cached(); }
size_t device_in_use_bytes() { return pool().in_use(); }
void device_memory_stream_retired(StreamHandle stream) noexcept { pool().retire(stream); }

void copy_to_device(void* dst, const void* src, size_t bytes, StreamHandle stream) {
  if (bytes == 0) return;
  HNAS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
}
void copy_to_host(void* dst, const void* src, size_t bytes, StreamHandle stream) {
  if (bytes > 0) HNAS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream));
  HNAS_CUDA_CHECK(cudaStreamSynchronize(stream));
}
void copy_on_device(void* dst, const void* src, size_t bytes, StreamHandle stream) {
  if (bytes == 0) return;
  HNAS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
}
void zero_on_device(void* dst, size_t bytes, StreamHandle stream) {
  if (bytes == 0) return;
  HNAS_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream));
}

}  // namespace cuda
}  // namespace hnas
