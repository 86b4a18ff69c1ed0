// The label set of a classification task: names by id, and the lookup of a data value (a label
// name, or an id as a number or a digit string) to its id.

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
  /**
   * Whether a whole number in the data may be an id. Not when a name is itself a number (stars
   * "1", "3", "5"): the number then names its class, as in Hugging Face's example scripts.
   */
  private readonly takesIds: boolean;

  constructor(readonly names: string[]) {
    this.ids = new Map(names.map((name, id) => [name, id]));
    this.takesIds = !names.some(isNumberText);
  }

  get size(): number {
    return this.names.length;
  }

  /** The id of a value from the data (a name, or an id), or undefined when it is not in the set. */
  id(value: unknown): number | undefined {
    if (typeof value === "string" || typeof value === "number") {
      const byName = this.ids.get(String(value));
      if (byName !== undefined) return byName;
    }
    if (!this.takesIds) return undefined;
    const number = integerValue(value);
    return number !== undefined && number < this.names.length ? number : undefined;
  }

  describe(): string {
    const shown = this.names.slice(0, 20).map((name, id) => `${id}=${name}`);
    return shown.join(", ") + (this.names.length > 20 ? ", ..." : "");
  }
}

function isNumberText(text: string): boolean {
  return text.trim() !== "" && Number.isFinite(Number(text));
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
 * else the values seen in the training data. Values that are exactly the ids 0..n-1 (numbers or
 * digit strings) are ids, named LABEL_i as Hugging Face does; any other values are names (1, 3, 5
 * are the three classes "1", "3", "5"), sorted as numbers when they all are numbers.
 */
export function labelSetFor(
  values: (string | number)[],
  modelNames: string[],
  givenNames: string[] | null,
): LabelSet {
  if (givenNames) return new LabelSet(givenNames);
  if (!placeholderNames(modelNames)) return new LabelSet(modelNames);
  const distinct = [...new Set(values.map(String))];
  const integers = new Set(values.map(integerValue));
  const areIds =
    !integers.has(undefined) &&
    integers.size === distinct.length &&
    Array.from({ length: integers.size }, (_, id) => id).every((id) => integers.has(id));
  if (areIds) {
    return new LabelSet(Array.from({ length: integers.size }, (_, id) => `LABEL_${id}`));
  }
  const numeric = distinct.every(isNumberText);
  return new LabelSet(numeric ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort());
}
