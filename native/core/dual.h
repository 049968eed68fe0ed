// Dual numbers a + b·ε (ε² = 0) for forward-mode differentiation.
//
// The engine runs its whole forward *and* backward pass on Dual<T> scalars
// to get Hessian-vector products (forward-over-reverse): seed the parameters
// with tangent v, and the tangent of every parameter gradient is H·v. ReLU's
// mask and max-pool's argmax are taken on the primal part, which is exactly
// the ReLU'' = 0 convention of double backward in PyTorch.
#pragma once
#include <cmath>
#include <type_traits>

namespace hnas {

template <typename T>
struct Dual {
  T v;  // primal value
  T d;  // tangent
  Dual() = default;
  constexpr Dual(T value) : v(value), d(0) {}  // NOLINT: implicit from scalar
  constexpr Dual(T value, T tangent) : v(value), d(tangent) {}

  Dual& operator+=(const Dual& o) { v += o.v; d += o.d; return *this; }
  Dual& operator-=(const Dual& o) { v -= o.v; d -= o.d; return *this; }
  Dual& operator*=(const Dual& o) { d = d * o.v + v * o.d; v *= o.v; return *this; }
  Dual& operator/=(const Dual& o) { *this = *this / o; return *this; }
  friend Dual operator+(Dual a, const Dual& b) { return a += b; }
  friend Dual operator-(Dual a, const Dual& b) { return a -= b; }
  friend Dual operator*(Dual a, const Dual& b) { return a *= b; }
  friend Dual operator/(const Dual& a, const Dual& b) {
    const T inv = T(1) / b.v;
    return Dual(a.v * inv, (a.d - a.v * inv * b.d) * inv);
  }
  friend Dual operator-(const Dual& a) { return Dual(-a.v, -a.d); }
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
template <typename S> using acc_t = typename accumulate_of<S>::type;

// Primal value, for comparisons (ReLU masks, argmax) and finiteness checks.
inline float primal(float x) { return x; }
inline double primal(double x) { return x; }
template <typename T> inline T primal(const Dual<T>& x) { return x.v; }

template <typename T>
inline Dual<T> sqrt(const Dual<T>& x) {
  const T s = std::sqrt(x.v);
  return Dual<T>(s, x.d / (T(2) * s));
}
template <typename T>
inline Dual<T> exp(const Dual<T>& x) {
  const T e = std::exp(x.v);
  return Dual<T>(e, e * x.d);
}
template <typename T>
inline Dual<T> log(const Dual<T>& x) {
  return Dual<T>(std::log(x.v), x.d / x.v);
}
using std::exp;
using std::log;
using std::sqrt;

}  // namespace hnas
