// A run kept in memory, for the web page: a page cannot resume a run, so checkpoints are not
// kept; evaluations go to a callback, and the resulting model is written under the store's name
// (the task's writeFolder decides where that name points: a folder of files in memory).

import type { RunStore } from "./loop.js";

export function memoryStore(
  where: string,
  onEvaluation: (record: Record<string, number>) => void = () => {},
): RunStore {
  return {
    where,
    begin() {},
    checkpoint() {},
    evaluation: onEvaluation,
    result(writeModel) {
      writeModel(where);
    },
  };
}
