// How the long-running commands (serve, web, queue worker) stop: the first SIGINT or SIGTERM lets
// them finish what they hold; a second one stops the process at once (Node's default, the
// handlers being gone by then).

export function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
