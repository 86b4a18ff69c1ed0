// Distillation progress: the loss and its three parts (soft targets, masked LM, cosine) on a
// progress bar on a terminal, as log lines otherwise.

import { SingleBar } from "cli-progress";

export interface DistillStepInfo {
  step: number;
  totalSteps: number;
  total: number;
  ce: number;
  mlm: number;
  cos: number;
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

function parts(info: DistillStepInfo) {
  return {
    loss: info.total.toFixed(3),
    ce: info.ce.toFixed(3),
    mlm: info.mlm.toFixed(3),
    cos: info.cos.toFixed(3),
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
        "{bar} {value}/{total} | loss {loss} (ce {ce} mlm {mlm} cos {cos}) | lr {lr} | {speed} tok/s | ETA {eta_formatted}",
      barsize: 24,
      etaBuffer: 20,
      hideCursor: true,
    });
    return {
      start: (total, first) =>
        bar.start(total, first, { loss: "-", ce: "-", mlm: "-", cos: "-", lr: "-", speed: "-" }),
      step: (info) => {
        bar.setTotal(info.totalSteps);
        bar.update(info.step, parts(info));
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
      const p = parts(info);
      stream.write(
        `step ${info.step}/${info.totalSteps} loss ${p.loss} (ce ${p.ce} mlm ${p.mlm} cos ${p.cos}) lr ${p.lr} ${p.speed} tok/s\n`,
      );
    },
    message: (text) => stream.write(`${text}\n`),
    stop() {},
  };
}
