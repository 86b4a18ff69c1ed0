// The project's one seeded random number generator (xoshiro128**): dropout masks, weight
// initialisation, data order and masking. Its whole state is four 32-bit words, so a training run
// can save it in a checkpoint and continue with exactly the same numbers.

export type RngState = [number, number, number, number];

/** SplitMix32: spreads a seed over the state words so nearby seeds give unrelated streams. */
function splitMix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Rng {
  private s: Uint32Array;

  /** A generator seeded by `seed` and, optionally, a stream number (e.g. the epoch). */
  constructor(seed: number, stream = 0) {
    const next = splitMix32((seed >>> 0) ^ Math.imul(stream + 1, 0x632be5ab));
    this.s = new Uint32Array([next(), next(), next(), next()]);
    if (this.s.every((word) => word === 0)) this.s[0] = 1;
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.s = Uint32Array.from(state);
    return rng;
  }

  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) from one 32-bit draw: for dropout masks, where speed beats precision. */
  float32(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const high = this.uint32() >>> 5;
    const low = this.uint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}
