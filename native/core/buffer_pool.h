// A caching allocator for tensor memory. A forward + backward pass allocates
// and frees hundreds of MiB; through plain malloc each large block is a fresh
// mmap whose pages fault in (and are zeroed by the kernel) on every call,
// which cost more than the arithmetic. Freed blocks are kept in size classes
// and handed out again, so steady-state passes touch warm memory only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace hnas {

void* pool_allocate(size_t bytes);
void pool_deallocate(void* p, size_t bytes) noexcept;
// Returns every cached block to the system; returns the bytes released.
size_t pool_release_cached();
// Bytes currently held in the cache (not in use).
size_t pool_cached_bytes();

// std::allocator replacement over the pool. Element construction without
// arguments default-initialises (no zero fill): callers that need zeros say so.
template <typename T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT
  T* allocate(size_t n) { return static_cast<T*>(pool_allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { pool_deallocate(p, n * sizeof(T)); }
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const PoolAllocator<U>&) const noexcept { return false; }
};

template <typename T>
using PoolVector = std::vector<T, PoolAllocator<T>>;

}  // namespace hnas
