// What a training run tells about its progress, wherever it runs: a terminal (progress.ts), a web
// page (src/web), a test (silentReporter).

export interface StepInfo {
  step: number;
  /** May change after the first step when a time budget plans the run. */
  totalSteps: number;
  loss: number;
  /** The loss's named parts (ce, mlm, cos; soft, hard); empty for a single loss. */
  parts: Record<string, number>;
  lr: number;
  examplesPerSecond: number;
  tokensPerSecond: number;
}

export interface Reporter {
  start(totalSteps: number, firstStep: number): void;
  step(info: StepInfo): void;
  /** A line that must not be lost in the bar (evaluations, checkpoints). */
  message(text: string): void;
  stop(): void;
}

export const silentReporter: Reporter = {
  start() {},
  step() {},
  message() {},
  stop() {},
};
