import assert from "node:assert/strict";
import { test } from "node:test";
import { activationDerivative, activationValue, erf } from "../src/tensor/math.js";

test("erf matches known values to float32 precision", () => {
  const known: [number, number][] = [
    [0, 0],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [-2, -0.9953222650189527],
    [3.5, 0.9999992569016276],
  ];
  for (const [x, want] of known) assert.ok(Math.abs(erf(x) - want) < 2e-7, `erf(${x})`);
});

test("activation derivatives match finite differences", () => {
  for (const kind of ["gelu", "relu", "silu", "gelu_new"] as const) {
    for (const x of [-3.1, -0.7, 0.3, 1.9]) {
      const h = 1e-5;
      const numeric = (activationValue(kind, x + h) - activationValue(kind, x - h)) / (2 * h);
      assert.ok(Math.abs(numeric - activationDerivative(kind, x)) < 1e-5, `${kind}'(${x})`);
    }
  }
});
