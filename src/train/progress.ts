// Training progress, for fine-tuning, pretraining and distillation alike: a progress bar (steps,
// the loss and its parts, learning rate, speed, ETA) on a terminal, plain log lines otherwise (a
// log file, CI): every 1/50th of the run and at least every 30 seconds.

import { SingleBar } from "cli-progress";

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

function fields(info: StepInfo) {
  const parts = Object.entries(info.parts)
    .map(([name, value]) => `${name} ${value.toFixed(3)}`)
    .join(" ");
  return {
    loss: `${info.loss.toFixed(4)}${parts ? ` (${parts})` : ""}`,
    lr: info.lr.toExponential(2),
    speed: `${info.examplesPerSecond.toFixed(1)} ex/s, ${Math.round(info.tokensPerSecond)} tok/s`,
  };
}

function barReporter(stream: NodeJS.WriteStream): Reporter {
  const bar = new SingleBar({
    stream,
    format: "{bar} {value}/{total} steps | loss {loss} | lr {lr} | {speed} | ETA {eta_formatted}",
    barsize: 24,
    etaBuffer: 50,
    hideCursor: true,
  });
  return {
    start(totalSteps, firstStep) {
      bar.start(totalSteps, firstStep, { loss: "-", lr: "-", speed: "-" });
    },
    step(info) {
      bar.setTotal(info.totalSteps);
      bar.update(info.step, fields(info));
    },
    message(text) {
      // Clear the bar's line, print, and let the next update redraw it.
      stream.write(`\r\x1b[2K${text}\n`);
    },
    stop() {
      bar.stop();
    },
  };
}

function lineReporter(stream: NodeJS.WritableStream): Reporter {
  let every = 1;
  let started = 0;
  let lastLine = 0;
  return {
    start(totalSteps, firstStep) {
      every = Math.max(1, Math.round(totalSteps / 50));
      started = Date.now();
      stream.write(
        `training: ${totalSteps} steps${firstStep > 0 ? `, from step ${firstStep}` : ""}\n`,
      );
    },
    step(info) {
      const now = Date.now();
      const due = info.step % every === 0 || info.step === info.totalSteps;
      if (!due && now - lastLine < 30_000) return;
      lastLine = now;
      const f = fields(info);
      stream.write(
        `step ${info.step}/${info.totalSteps} loss ${f.loss} lr ${f.lr} ${f.speed} ${((now - started) / 1000).toFixed(0)} s\n`,
      );
    },
    message(text) {
      stream.write(`${text}\n`);
    },
    stop() {},
  };
}

export function createReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  return stream.isTTY ? barReporter(stream) : lineReporter(stream);
}
