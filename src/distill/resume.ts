// Resuming a distillation run: only with the settings that fixed its data order and schedule.

import { UserError } from "../errors.js";
import type { TrainerState } from "../train/checkpoint.js";

export function checkResumable(
  saved: TrainerState["settings"],
  now: Record<string, number | boolean>,
): void {
  const differing = Object.keys(now).filter((key) => saved[key] !== now[key]);
  if (differing.length > 0) {
    const details = differing.map((key) => `${key} ${saved[key]} -> ${now[key]}`).join(", ");
    throw new UserError(
      `cannot resume: the checkpoint was made with other settings (${details}); resume with the same options and data`,
    );
  }
}
