// Learning-rate schedules as Hugging Face's get_*_schedule_with_warmup: the multiplier of the
// peak learning rate for the optimizer step that is about to run (0-based, so with warm-up the
// first step runs at lr 0, as in Hugging Face).

export type ScheduleKind = "linear" | "cosine" | "constant";

export const SCHEDULE_KINDS: readonly ScheduleKind[] = ["linear", "cosine", "constant"];

export interface Schedule {
  kind: ScheduleKind;
  peakLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** Hugging Face rounds the warm-up up: ceil(totalSteps * ratio). */
export function warmupStepsFor(totalSteps: number, warmupRatio: number): number {
  return Math.ceil(totalSteps * warmupRatio);
}

export function learningRate(schedule: Schedule, step: number): number {
  const { kind, peakLr, warmupSteps, totalSteps } = schedule;
  if (step < warmupSteps) return (peakLr * step) / Math.max(1, warmupSteps);
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  switch (kind) {
    case "constant":
      return peakLr;
    case "linear":
      return peakLr * Math.max(0, 1 - progress);
    case "cosine":
      return peakLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
  }
}
