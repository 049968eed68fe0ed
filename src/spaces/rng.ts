/**
 * A small seeded random number generator (PCG-XSH-RR 32) so that sampling
 * and initialisation are deterministic across platforms and runs. Not
 * cryptographic.
 */
export class Rng {
  #state: bigint;
  readonly #inc: bigint;
  #spareNormal: number | undefined;

  constructor(seed: number | bigint, stream: number | bigint = 54) {
    this.#inc = ((BigInt(stream) << 1n) | 1n) & 0xffffffffffffffffn;
    this.#state = 0n;
    this.nextUint32();
    this.#state = (this.#state + BigInt.asUintN(64, BigInt(seed))) & 0xffffffffffffffffn;
    this.nextUint32();
  }

  nextUint32(): number {
    const old = this.#state;
    this.#state = (old * 6364136223846793005n + this.#inc) & 0xffffffffffffffffn;
    const xorshifted = Number(((old >> 18n) ^ old) >> 27n & 0xffffffffn);
    const rot = Number(old >> 59n);
    return ((xorshifted >>> rot) | (xorshifted << ((-rot) & 31))) >>> 0;
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
