/**
 * A small seeded random number generator (xoshiro128**, seeded through
 * splitmix32) so that sampling and initialisation are deterministic across
 * platforms and runs, and fast: 32-bit integer arithmetic only (Math.imul),
 * no BigInt. Not cryptographic.
 */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  #spareNormal: number | undefined;

  /** seed: any integer (numbers beyond 2^32 and bigints use their low 64 bits); stream: a second key. */
  constructor(seed: number | bigint, stream: number | bigint = 54) {
    const s = BigInt.asUintN(64, BigInt(typeof seed === 'number' ? Math.trunc(seed) : seed));
    const t = BigInt.asUintN(32, BigInt(typeof stream === 'number' ? Math.trunc(stream) : stream));
    let x = (Number(s & 0xffffffffn) ^ Math.imul(Number(t), 0x9e3779b9)) >>> 0;
    let y = (Number(s >> 32n) + 0x7f4a7c15) >>> 0;
    const next = () => {
      // splitmix32 over the two key words
      x = (x + 0x9e3779b9) | 0;
      let z = x ^ y;
      y = Math.imul(y ^ (y >>> 15), 0x85ebca6b) ^ x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1; // the all-zero state is absorbing
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    if (this.#spareNormal !== undefined) {
      const v = this.#spareNormal;
      this.#spareNormal = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A new generator derived from this one (independent stream). */
  fork(): Rng {
    return new Rng(BigInt(this.nextUint32()) * 4294967296n + BigInt(this.nextUint32()), this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) | 0;
}
