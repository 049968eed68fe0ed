#include "core/buffer_pool.h"

#include <cstdlib>
#include <map>
#include <mutex>

namespace hnas {
namespace {

// Blocks below this size go straight to malloc (its own bins serve them well).
constexpr size_t kSmall = size_t(1) << 16;
// At most this much freed memory is kept for reuse.
constexpr size_t kMaxCached = size_t(6) << 30;

// Size classes: four steps per power of two, so at most 25 % is wasted.
size_t size_class(size_t bytes) {
  size_t p = kSmall;
  while (p < bytes) p <<= 1;
  const size_t q = p >> 3;  // p/8: classes p/2 + k·p/8
  for (size_t c = (p >> 1) + q; c < p; c += q)
    if (c >= bytes) return c;
  return p;
}

class Pool {
 public:
  // A cached block of this class or up to ~1.5x larger (the caller keeps
  // using it as a block of `cls` bytes; the extra is simply unused).
  void* take(size_t cls) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.lower_bound(cls);
    if (it == free_.end() || it->first > cls + cls / 2) return nullptr;
    void* p = it->second;
    cached_ -= it->first;
    free_.erase(it);
    return p;
  }
  void give(void* p, size_t cls) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + cls <= kMaxCached) {
        free_.emplace(cls, p);
        cached_ += cls;
        return;
      }
    }
    std::free(p);
  }
  size_t release() {
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t n = cached_;
    for (auto& [cls, p] : free_) std::free(p);
    free_.clear();
    cached_ = 0;
    return n;
  }
  size_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

 private:
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  size_t cached_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: safe at process exit
  return *p;
}

}  // namespace

void* pool_allocate(size_t bytes) {
  if (bytes < kSmall) {
    void* p = std::malloc(bytes == 0 ? 1 : bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  const size_t cls = size_class(bytes);
  if (void* p = pool().take(cls)) return p;
  void* p = std::aligned_alloc(64, cls);
  if (!p) {
    // Drop the cache and try once more before giving up.
    pool().release();
    p = std::aligned_alloc(64, cls);
    if (!p) throw std::bad_alloc();
  }
  return p;
}

void pool_deallocate(void* p, size_t bytes) noexcept {
  if (!p) return;
  if (bytes < kSmall) {
    std::free(p);
    return;
  }
  pool().give(p, size_class(bytes));
}

size_t pool_release_cached() { return pool().release(); }
size_t pool_cached_bytes() { return pool().cached(); }

}  // namespace hnas
