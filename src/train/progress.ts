// Training progress: a progress bar (steps, loss, learning rate, examples/s, ETA) on a terminal,
// plain log lines otherwise (a log file, CI).

import { SingleBar } from "cli-progress";

export interface StepInfo {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  examplesPerSecond: number;
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

function formatLr(lr: number): string {
  return lr.toExponential(2);
}

function barReporter(stream: NodeJS.WriteStream): Reporter {
  const bar = new SingleBar({
    stream,
    format:
      "{bar} {value}/{total} steps | loss {loss} | lr {lr} | {speed} ex/s | ETA {eta_formatted}",
    barsize: 30,
    etaBuffer: 50,
    hideCursor: true,
  });
  return {
    start(totalSteps, firstStep) {
      bar.start(totalSteps, firstStep, { loss: "-", lr: "-", speed: "-" });
    },
    step(info) {
      bar.update(info.step, {
        loss: info.loss.toFixed(4),
        lr: formatLr(info.lr),
        speed: info.examplesPerSecond.toFixed(1),
      });
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
  return {
    start(totalSteps, firstStep) {
      every = Math.max(1, Math.round(totalSteps / 50));
      started = Date.now();
      stream.write(
        `training: ${totalSteps} steps${firstStep > 0 ? `, from step ${firstStep}` : ""}\n`,
      );
    },
    step(info) {
      if (info.step % every !== 0 && info.step !== info.totalSteps) return;
      const elapsed = (Date.now() - started) / 1000;
      stream.write(
        `step ${info.step}/${info.totalSteps} loss ${info.loss.toFixed(4)} lr ${formatLr(info.lr)} ${info.examplesPerSecond.toFixed(1)} ex/s ${elapsed.toFixed(0)} s\n`,
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
