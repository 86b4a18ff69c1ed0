// The subcommand registry. Each command lives in its own file under ./commands/.

import { decode } from "./commands/decode.js";
import { tokenize } from "./commands/tokenize.js";

export interface Command {
  /** One line for the command list. */
  summary: string;
  /** The full --help text: what it does, every option, an example. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[]): Promise<number | undefined>;
}

export const commands: Record<string, Command> = {
  decode,
  tokenize,
};
