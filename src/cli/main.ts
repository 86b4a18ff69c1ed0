#!/usr/bin/env node

// The `distilbert` command: one file per subcommand under ./commands, each exporting a Command.

import { UserError } from "../errors.js";
import { commands } from "./commands.js";

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`);
  return [
    "distilbert: DistilBERT and BERT in TypeScript",
    "",
    "usage: distilbert <command> [options]   (distilbert <command> --help for its options)",
    "",
    "commands:",
    ...lines,
  ].join("\n");
}

/**
 * Our message for node:util parseArgs's errors (an unknown option, a value read as an option), or
 * null for any other error. Node's own text names no command and differs between Node versions.
 */
function optionsMessage(command: string, error: unknown): string | null {
  if (!(error instanceof Error && "code" in error && typeof error.code === "string")) return null;
  if (!error.code.startsWith("ERR_PARSE_ARGS_")) return null;
  // Node quotes the option (or the stray argument) first: 'x', '--top-k', '--batch-size <value>'.
  const option = /'([^' =<]+)/.exec(error.message)?.[1] ?? "an option";
  const help = `see distilbert ${command} --help`;
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return `${command} has no option ${option} (${help} for its options)`;
  }
  if (error.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    return `${command} takes options only, not the argument '${option}' (${help})`;
  }
  if (/does not take an argument/.test(error.message)) {
    return `${option} takes no value (${help})`;
  }
  if (/ambiguous/.test(error.message)) {
    return `${option} needs a value; one that starts with '-' is written ${option}=VALUE (${help})`;
  }
  return `${option} needs a value (${help})`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`distilbert: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  return (await command.run(rest)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Expected failures (bad input, missing files) get one clear line; bugs keep their stack.
    const usageError = optionsMessage(process.argv[2], error);
    if (usageError !== null) {
      process.stderr.write(`distilbert: ${usageError}\n`);
      process.exitCode = 2;
      return;
    }
    if (error instanceof UserError) {
      process.stderr.write(`distilbert: ${error.message}\n`);
    } else if (error instanceof Error && "code" in error && typeof error.code === "string") {
      process.stderr.write(`distilbert: ${error.message}\n`);
    } else {
      process.stderr.write(
        `distilbert: internal error: ${error instanceof Error ? error.stack : String(error)}\n`,
      );
    }
    process.exitCode = 1;
  },
);
