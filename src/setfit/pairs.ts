// SetFit's training pairs (Tunstall et al. 2022): from labelled rows, pairs of rows with the same
// label (target 1) and with different labels (target 0), on which the body learns by
// CosineSimilarityLoss to embed a class's texts close together and other classes' apart.

import { UserError } from "../errors.js";
import { Rng } from "../models/rng.js";

/** Two rows (indices into the labelled rows) and the pair's target: 1 same label, 0 not. */
export interface RowPair {
  first: number;
  second: number;
  target: 1 | 0;
}

/** The default positive pairs per row (and as many negative ones): SetFit's num_iterations. */
export const DEFAULT_SETFIT_ITERATIONS = 20;

/**
 * For each of `iterations` rounds and each row in order: one positive pair (the row and another
 * row of its label) then one negative pair (the row and a row of another label), both partners
 * drawn by a generator seeded by `seed`, so a run is reproducible. `labels` are class ids by row,
 * `names` the classes' names (for messages).
 */
export function setFitPairs(
  labels: number[],
  names: string[],
  iterations: number,
  seed: number,
): RowPair[] {
  const rowsOf = new Map<number, number[]>();
  labels.forEach((label, row) => {
    const rows = rowsOf.get(label) ?? [];
    rows.push(row);
    rowsOf.set(label, rows);
  });
  if (rowsOf.size < 2) {
    throw new UserError(
      "SetFit needs rows of at least two labels: a negative pair joins two labels",
    );
  }
  for (const [label, rows] of rowsOf) {
    if (rows.length < 2) {
      throw new UserError(
        `label ${names[label]} has one row: SetFit needs two or more rows of every label, to pair each with another of its label`,
      );
    }
  }
  const otherRowsOf = new Map(
    [...rowsOf.keys()].map((label) => [
      label,
      labels.flatMap((l, row) => (l === label ? [] : [row])),
    ]),
  );
  // Each row's place among the rows of its label: a partner is drawn from the others.
  const placeOf = labels.map((label, row) => (rowsOf.get(label) as number[]).indexOf(row));
  const rng = new Rng(seed, 11);
  const pairs: RowPair[] = [];
  for (let round = 0; round < iterations; round++) {
    labels.forEach((label, row) => {
      const same = rowsOf.get(label) as number[];
      const draw = rng.int(same.length - 1);
      const partner = same[draw < placeOf[row] ? draw : draw + 1];
      const others = otherRowsOf.get(label) as number[];
      pairs.push({ first: row, second: partner, target: 1 });
      pairs.push({ first: row, second: others[rng.int(others.length)], target: 0 });
    });
  }
  return pairs;
}
