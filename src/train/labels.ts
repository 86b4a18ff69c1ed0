// The label set of a classification task: names by id, and the lookup of a data value (an id as a
// number or a digit string, or a label name) to its id.

import { UserError } from "../errors.js";
import type { ModelConfig } from "../io/config-format.js";

/** A config's label names in id order (id2label). */
export function labelNames(config: ModelConfig): string[] {
  return Object.keys(config.id2label)
    .map(Number)
    .sort((a, b) => a - b)
    .map((id) => config.id2label[id]);
}

export class LabelSet {
  private readonly ids: Map<string, number>;

  constructor(readonly names: string[]) {
    this.ids = new Map(names.map((name, id) => [name, id]));
  }

  get size(): number {
    return this.names.length;
  }

  /** The id of a value from the data, or undefined when it is not in the set. */
  id(value: unknown): number | undefined {
    if (typeof value === "string" && this.ids.has(value)) return this.ids.get(value);
    const number = integerValue(value);
    return number !== undefined && number < this.names.length ? number : undefined;
  }

  describe(): string {
    const shown = this.names.slice(0, 20).map((name, id) => `${id}=${name}`);
    return shown.join(", ") + (this.names.length > 20 ? ", ..." : "");
  }
}

function integerValue(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

/** True when a config's labels are only Hugging Face's placeholders LABEL_0, LABEL_1, ... */
export function placeholderNames(names: string[]): boolean {
  return names.every((name, id) => name === `LABEL_${id}`);
}

/**
 * The label set for training: the names given, else the model's own labels when it has real ones,
 * else the values seen in the training data: integer ids 0..max (named LABEL_i as Hugging Face
 * does), or the distinct names sorted.
 */
export function labelSetFor(
  values: unknown[],
  modelNames: string[],
  givenNames: string[] | null,
): LabelSet {
  if (givenNames) return new LabelSet(givenNames);
  if (!placeholderNames(modelNames)) return new LabelSet(modelNames);
  const integers = values.map(integerValue);
  if (integers.every((value) => value !== undefined)) {
    const count = Math.max(...(integers as number[])) + 1;
    return new LabelSet(Array.from({ length: count }, (_, i) => `LABEL_${i}`));
  }
  const names = new Set<string>();
  for (const value of values) {
    if (typeof value !== "string" && typeof value !== "number") {
      throw new UserError(`labels must be strings or integers, got ${JSON.stringify(value)}`);
    }
    names.add(String(value));
  }
  return new LabelSet([...names].sort());
}
