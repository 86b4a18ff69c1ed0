// Vector versions of exp, erf and the activations (four float32 lanes), accurate to a few ulp:
// the kernels' results stay within 1e-6 of the float64 reference. No lookup tables (as
// AssemblyScript's Math has): the kernels have no static data (see scripts/build-wasm.mjs).

const LOG2E: f32 = <f32>Math.LOG2E;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.1219444e-4;
// exp's input range: 2^-126 (the smallest normal float) to 2^127, so 2^n is built from bits.
const EXP_LOW: f32 = -87.33654475;
const EXP_HIGH: f32 = 88.0;
// Adding 1.5 * 2^23 rounds to an integer, which then sits in the low mantissa bits.
const ROUNDER: f32 = 12582912.0;
const SQRT_HALF: f32 = <f32>Math.SQRT1_2;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

function splat(x: f32): v128 {
  return f32x4.splat(x);
}

function fma(a: v128, b: v128, c: v128): v128 {
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * The nearest integers (to even) of v's lanes as int32, for |v| below 2^22: the rounding trick's
 * result bits minus the rounder's.
 */
export function roundToInt(v: v128): v128 {
  return i32x4.sub(f32x4.add(v, splat(ROUNDER)), splat(ROUNDER));
}

/**
 * e^x per lane; 0 below -87.34 (so masked attention scores vanish), e^88 above 88. pmin/pmax
 * and the rounding trick instead of min/max/floor/trunc_sat, which compile to long NaN-safe
 * sequences on x64.
 */
export function expv(x: v128): v128 {
  const tooSmall = f32x4.lt(x, splat(EXP_LOW));
  x = f32x4.pmin(f32x4.pmax(x, splat(EXP_LOW)), splat(EXP_HIGH));
  const rounded = fma(x, splat(LOG2E), splat(ROUNDER));
  const n = f32x4.sub(rounded, splat(ROUNDER));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, splat(LN2_HI))), f32x4.mul(n, splat(LN2_LO)));
  let y = splat(1.98756915e-4);
  y = fma(y, r, splat(1.3981999507e-3));
  y = fma(y, r, splat(8.3334519073e-3));
  y = fma(y, r, splat(4.1665795894e-2));
  y = fma(y, r, splat(1.6666665459e-1));
  y = fma(y, r, splat(5.0000001201e-1));
  y = f32x4.add(fma(y, f32x4.mul(r, r), r), splat(1));
  const exponent = i32x4.sub(rounded, splat(ROUNDER));
  const scale = i32x4.shl(i32x4.add(exponent, i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(y, scale), tooSmall);
}

/**
 * erf per lane: the rational fit z P(z^2) / Q(z^2) of the native kernels (vector_math.h, where
 * the fit is described), 3.8e-7 relative; a third of the work of the erfc-times-exp form of
 * math.ts. pmin keeps NaN (it returns its first operand unless the second is smaller).
 */
export function erfv(x: v128): v128 {
  const z = f32x4.pmin(f32x4.abs(x), splat(3.92));
  const t = f32x4.mul(z, z);
  let p = splat(2.05040578e-6);
  p = fma(p, t, splat(0.000284873182));
  p = fma(p, t, splat(0.0037646878));
  p = fma(p, t, splat(0.0527458489));
  p = fma(p, t, splat(0.190383255));
  p = fma(p, t, splat(1.12837911));
  let q = splat(3.80945348e-5);
  q = fma(q, t, splat(0.00116233237));
  q = fma(q, t, splat(0.0149673307));
  q = fma(q, t, splat(0.114099704));
  q = fma(q, t, splat(0.502055526));
  q = fma(q, t, splat(1));
  const magnitude = f32x4.pmin(f32x4.div(f32x4.mul(z, p), q), splat(1));
  const sign = i32x4.splat(0x80000000);
  return v128.or(magnitude, v128.and(x, sign));
}

function tanhv(x: v128): v128 {
  const e = expv(f32x4.mul(x, splat(2)));
  return f32x4.sub(splat(1), f32x4.div(splat(2), f32x4.add(e, splat(1))));
}

function geluNewInner(x: v128): v128 {
  const cube = f32x4.mul(f32x4.mul(x, x), x);
  return f32x4.mul(splat(SQRT_2_OVER_PI), fma(splat(0.044715), cube, x));
}

export const GELU: i32 = 0;
export const RELU: i32 = 1;
export const SILU: i32 = 2;
export const GELU_NEW: i32 = 3;

export function activation(kind: i32, x: v128): v128 {
  if (kind === GELU) {
    const e = erfv(f32x4.mul(x, splat(SQRT_HALF)));
    return f32x4.mul(f32x4.mul(splat(0.5), x), f32x4.add(splat(1), e));
  }
  if (kind === RELU) return f32x4.max(x, splat(0));
  if (kind === SILU) return f32x4.div(x, f32x4.add(splat(1), expv(f32x4.neg(x))));
  const t = tanhv(geluNewInner(x));
  return f32x4.mul(f32x4.mul(splat(0.5), x), f32x4.add(splat(1), t));
}

export function activationDerivative(kind: i32, x: v128): v128 {
  if (kind === GELU) {
    const cdf = f32x4.mul(splat(0.5), f32x4.add(splat(1), erfv(f32x4.mul(x, splat(SQRT_HALF)))));
    const pdf = expv(f32x4.mul(splat(-0.5), f32x4.mul(x, x)));
    return fma(f32x4.mul(x, splat(INV_SQRT_2PI)), pdf, cdf);
  }
  if (kind === RELU) return v128.and(f32x4.gt(x, splat(0)), splat(1));
  if (kind === SILU) {
    const s = f32x4.div(splat(1), f32x4.add(splat(1), expv(f32x4.neg(x))));
    return f32x4.mul(s, fma(x, f32x4.sub(splat(1), s), splat(1)));
  }
  const t = tanhv(geluNewInner(x));
  const slope = fma(splat(3 * 0.044715), f32x4.mul(x, x), splat(1));
  const left = f32x4.mul(splat(0.5), f32x4.add(splat(1), t));
  const right = f32x4.mul(
    f32x4.mul(f32x4.mul(splat(0.5), x), f32x4.sub(splat(1), f32x4.mul(t, t))),
    f32x4.mul(splat(SQRT_2_OVER_PI), slope),
  );
  return f32x4.add(left, right);
}

/** e^x for one float, by the vector function. */
export function expf(x: f32): f32 {
  return f32x4.extract_lane(expv(f32x4.splat(x)), 0);
}

/**
 * ln x for x > 0, in float64: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
 * ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its series (error below 1e-16).
 */
export function ln(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let exponent = <i32>((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > Math.SQRT2) {
    m *= 0.5;
    exponent += 1;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let term = s;
  let sum: f64 = 0;
  for (let k = 1; k <= 25; k += 2) {
    sum += term / k;
    term *= s2;
  }
  return 2 * sum + <f64>exponent * Math.LN2;
}
