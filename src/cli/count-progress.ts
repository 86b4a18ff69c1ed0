// Progress of a long count (documents embedded, lines answered) on stderr: a bar on a terminal,
// otherwise a line at every tenth, so that a log file stays short.

import { SingleBar } from "cli-progress";

/** A callback for `done` of `total` so far; `what` names the things counted ("texts embedded"). */
export function countProgress(what: string): (done: number, total: number) => void {
  if (!process.stderr.isTTY) {
    let shown = -1;
    return (done, total) => {
      const tenth = Math.floor((10 * done) / total);
      if (tenth === shown) return;
      shown = tenth;
      process.stderr.write(`${done}/${total} ${what}\n`);
    };
  }
  const bar = new SingleBar({
    stream: process.stderr,
    format: `{bar} {value}/{total} ${what} | ETA {eta_formatted}`,
    hideCursor: true,
  });
  let started = false;
  return (done, total) => {
    if (!started) bar.start(total, done);
    started = true;
    bar.update(done);
    if (done === total) bar.stop();
  };
}
