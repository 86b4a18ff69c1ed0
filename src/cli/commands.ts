// The subcommand registry. Each command lives in its own file under ./commands/.

import { bench } from "./commands/bench.js";
import { compare } from "./commands/compare.js";
import { decode } from "./commands/decode.js";
import { demo } from "./commands/demo.js";
import { distill } from "./commands/distill.js";
import { evalMlm } from "./commands/eval-mlm.js";
import { evaluateCommand } from "./commands/evaluate.js";
import { exportCommand } from "./commands/export.js";
import { forward } from "./commands/forward.js";
import { initStudentCommand } from "./commands/init-student.js";
import { predict } from "./commands/predict.js";
import { quantize } from "./commands/quantize.js";
import { queue } from "./commands/queue.js";
import { serve } from "./commands/serve.js";
import { tokenize } from "./commands/tokenize.js";
import { trainCommand } from "./commands/train.js";
import { web } from "./commands/web.js";

export interface Command {
  /** One line for the command list. */
  summary: string;
  /** The full --help text: what it does, every option, an example. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[]): Promise<number | undefined>;
}

export const commands: Record<string, Command> = {
  bench,
  compare,
  decode,
  demo,
  distill,
  "eval-mlm": evalMlm,
  evaluate: evaluateCommand,
  export: exportCommand,
  forward,
  "init-student": initStudentCommand,
  predict,
  quantize,
  queue,
  serve,
  tokenize,
  train: trainCommand,
  web,
};
