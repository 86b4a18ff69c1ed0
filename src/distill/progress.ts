// Distillation progress: the loss and its parts (soft targets, masked LM or hard labels, cosine)
// on a progress bar on a terminal, as log lines otherwise.

import { SingleBar } from "cli-progress";

export interface DistillStepInfo {
  step: number;
  totalSteps: number;
  total: number;
  /** The loss's parts by name, e.g. ce, mlm, cos. */
  parts: Record<string, number>;
  lr: number;
  tokensPerSecond: number;
}

export interface DistillReporter {
  start(totalSteps: number, firstStep: number): void;
  step(info: DistillStepInfo): void;
  message(text: string): void;
  stop(): void;
}

export const silentDistillReporter: DistillReporter = {
  start() {},
  step() {},
  message() {},
  stop() {},
};

function fields(info: DistillStepInfo) {
  const parts = Object.entries(info.parts)
    .map(([name, value]) => `${name} ${value.toFixed(3)}`)
    .join(" ");
  return {
    loss: info.total.toFixed(3),
    parts,
    lr: info.lr.toExponential(2),
    speed: Math.round(info.tokensPerSecond),
  };
}

export function createDistillReporter(
  stream: NodeJS.WriteStream = process.stderr,
): DistillReporter {
  if (stream.isTTY) {
    const bar = new SingleBar({
      stream,
      format:
        "{bar} {value}/{total} | loss {loss} ({parts}) | lr {lr} | {speed} tok/s | ETA {eta_formatted}",
      barsize: 24,
      etaBuffer: 20,
      hideCursor: true,
    });
    return {
      start: (total, first) =>
        bar.start(total, first, { loss: "-", parts: "-", lr: "-", speed: "-" }),
      step: (info) => {
        bar.setTotal(info.totalSteps);
        bar.update(info.step, fields(info));
      },
      message: (text) => stream.write(`\r\x1b[2K${text}\n`),
      stop: () => bar.stop(),
    };
  }
  let every = 1;
  let lastTime = 0;
  return {
    start(total, first) {
      every = Math.max(1, Math.round(total / 40));
      stream.write(`distilling: ${total} steps${first > 0 ? `, from step ${first}` : ""}\n`);
    },
    step(info) {
      // Plain logs: every 1/40th of the run, and at least every 30 seconds.
      const now = Date.now();
      if (info.step % every !== 0 && info.step !== info.totalSteps && now - lastTime < 30_000) {
        return;
      }
      lastTime = now;
      const f = fields(info);
      stream.write(
        `step ${info.step}/${info.totalSteps} loss ${f.loss} (${f.parts}) lr ${f.lr} ${f.speed} tok/s\n`,
      );
    },
    message: (text) => stream.write(`${text}\n`),
    stop() {},
  };
}
