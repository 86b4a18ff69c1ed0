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
