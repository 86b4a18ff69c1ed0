// Training progress on a terminal, for fine-tuning, pretraining and distillation alike: a progress
// bar (steps, the loss and its parts, learning rate, speed, ETA) on a TTY, plain log lines
// otherwise (a log file, CI): every 1/50th of the run and at least every 30 seconds.

import { SingleBar } from "cli-progress";
import type { Reporter, StepInfo } from "./reporter.js";

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
