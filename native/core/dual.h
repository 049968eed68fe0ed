// Dual numbers a + b·ε (ε² = 0) for forward-mode differentiation.
//
// The engine runs its whole forward *and* backward pass on Dual<T> scalars
// to get Hessian-vector products (forward-over-reverse): seed the parameters
// with tangent v, and the tangent of every parameter gradient is H·v. ReLU's
// mask and max-pool's argmax are taken on the primal part, which is exactly
// the ReLU'' = 0 convention of double backward in PyTorch.
//
// The same type serves the CUDA kernels (cuda/device_engine.h runs Hessian-
// vector products on the device): under nvcc every member is host and device.
#pragma once
#include <cmath>
#include <type_traits>

#if defined(__CUDACC__)
#define HNAS_HD __host__ __device__
#else
#define HNAS_HD
#endif

namespace hnas {

template <typename T>
struct Dual {
  T v;  // primal value
  T d;  // tangent
  Dual() = default;
  HNAS_HD constexpr Dual(T value) : v(value), d(0) {}  // NOLINT: implicit from scalar
  HNAS_HD constexpr Dual(T value, T tangent) : v(value), d(tangent) {}
  // Between precisions (float data, double accumulators): explicit only.
  template <typename U>
  HNAS_HD constexpr explicit Dual(const Dual<U>& o) : v(T(o.v)), d(T(o.d)) {}

  HNAS_HD Dual& operator+=(const Dual& o) { v += o.v; d += o.d; return *this; }
  HNAS_HD Dual& operator-=(const Dual& o) { v -= o.v; d -= o.d; return *this; }
  HNAS_HD Dual& operator*=(const Dual& o) { d = d * o.v + v * o.d; v *= o.v; return *this; }
  HNAS_HD Dual& operator/=(const Dual& o) { *this = *this / o; return *this; }
  HNAS_HD friend Dual operator+(Dual a, const Dual& b) { return a += b; }
  HNAS_HD friend Dual operator-(Dual a, const Dual& b) { return a -= b; }
  HNAS_HD friend Dual operator*(Dual a, const Dual& b) { return a *= b; }
  HNAS_HD friend Dual operator/(const Dual& a, const Dual& b) {
    const T inv = T(1) / b.v;
    return Dual(a.v * inv, (a.d - a.v * inv * b.d) * inv);
  }
  HNAS_HD friend Dual operator-(const Dual& a) { return Dual(-a.v, -a.d); }
  // Equal as dual numbers (both parts): GEMM's "beta == 0 never reads C".
  HNAS_HD friend bool operator==(const Dual& a, const Dual& b) { return a.v == b.v && a.d == b.d; }
  HNAS_HD friend bool operator!=(const Dual& a, const Dual& b) { return !(a == b); }
};

template <typename T> struct is_dual : std::false_type {};
template <typename T> struct is_dual<Dual<T>> : std::true_type {};

// The primal (real) type underneath a scalar type.
template <typename S> struct primal_of { using type = S; };
template <typename T> struct primal_of<Dual<T>> { using type = T; };
template <typename S> using primal_t = typename primal_of<S>::type;

// The type long reductions accumulate in: float sums run in double (a BN
// channel sums N·H·W = 65,536 values at batch 64; float accumulation there
// loses ~1e-5 relative, an order of magnitude more than PyTorch's kernels).
template <typename S> struct accumulate_of { using type = S; };
template <> struct accumulate_of<float> { using type = double; };
template <> struct accumulate_of<Dual<float>> { using type = Dual<double>; };  // both parts, as the device
template <typename S> using acc_t = typename accumulate_of<S>::type;

// Primal value, for comparisons (ReLU masks, argmax) and finiteness checks.
HNAS_HD inline float primal(float x) { return x; }
HNAS_HD inline double primal(double x) { return x; }
template <typename T> HNAS_HD inline T primal(const Dual<T>& x) { return x.v; }

template <typename T>
HNAS_HD inline Dual<T> sqrt(const Dual<T>& x) {
  const T s = std::sqrt(x.v);
  return Dual<T>(s, x.d / (T(2) * s));
}
template <typename T>
HNAS_HD inline Dual<T> exp(const Dual<T>& x) {
  const T e = std::exp(x.v);
  return Dual<T>(e, e * x.d);
}
template <typename T>
HNAS_HD inline Dual<T> log(const Dual<T>& x) {
  return Dual<T>(std::log(x.v), x.d / x.v);
}
using std::exp;
using std::log;
using std::sqrt;

}  // namespace hnas
