// Device memory: a caching allocator reused across calls (the device twin of
// core/buffer_pool.h) and an RAII buffer over it.
//
// cudaMalloc/cudaFree are slow and synchronise the device, and an engine
// pass allocates hundreds of temporaries, so freed blocks are cached in size
// classes and handed out again. Blocks are stream-ordered: a block freed
// while kernels on stream S may still use it is only reused by work on S
// (which runs after them), never by another stream, until S is destroyed.
// When cudaMalloc fails the cache is given back (after a device sync) and
// the allocation retried once before kOutOfMemory is thrown.
#pragma once
#include <cstddef>
#include <utility>

#include "cuda/runtime.h"

namespace hnas {
namespace cuda {

void* device_allocate(size_t bytes, StreamHandle stream);
void device_deallocate(void* p, size_t bytes, StreamHandle stream) noexcept;
// Frees every cached block (synchronising the device first); returns bytes.
size_t device_release_cached();
// Bytes cached (not in use) and bytes handed out and not yet returned.
size_t device_cached_bytes();
size_t device_in_use_bytes();
// Called by ~Stream after it synchronised: its cached blocks become free for
// every stream.
void device_memory_stream_retired(StreamHandle stream) noexcept;

// Host <-> device copies on `stream` (the current stream by default);
// copy_to_host waits for the stream, so the data is there on return.
void copy_to_device(void* dst, const void* src, size_t bytes, StreamHandle stream);
void copy_to_host(void* dst, const void* src, size_t bytes, StreamHandle stream);
void copy_on_device(void* dst, const void* src, size_t bytes, StreamHandle stream);
void zero_on_device(void* dst, size_t bytes, StreamHandle stream);

// An array of T in device memory, owned, bound to the stream current at
// construction (or given). Contents are undefined after resize unless zeroed.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() : stream_(current_stream()) {}
  explicit DeviceBuffer(size_t n) : stream_(current_stream()) { resize(n); }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)), stream_(o.stream_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
      stream_ = o.stream_;
    }
    return *this;
  }

  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  StreamHandle stream() const { return stream_; }

  // Keeps the block when it is big enough (contents kept then).
  void resize(size_t n) {
    if (n > capacity_) {
      reset();
      ptr_ = static_cast<T*>(device_allocate(n * sizeof(T), stream_));
      capacity_ = n;
    }
    size_ = n;
  }
  void reset() noexcept {
    if (ptr_) device_deallocate(ptr_, capacity_ * sizeof(T), stream_);
    ptr_ = nullptr;
    size_ = capacity_ = 0;
  }
  void upload(const T* host, size_t n) {
    resize(n);
    copy_to_device(ptr_, host, n * sizeof(T), stream_);
  }
  void download(T* host, size_t n) const { copy_to_host(host, ptr_, n * sizeof(T), stream_); }
  void zero() { zero_on_device(ptr_, size_ * sizeof(T), stream_); }

 private:
  T* ptr_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  StreamHandle stream_ = nullptr;
};

}  // namespace cuda
}  // namespace hnas
