// The control block at the start of the shared memory through which the calling thread hands a
// kernel call to the workers: Int32 slots, then the call's arguments as float64.

export const CONTROL = {
  /** Bumped once per call; workers Atomics.wait on it. */
  generation: 0,
  /** Workers still running the current call; the caller waits for it to reach zero. */
  pending: 1,
  kernel: 2,
  threads: 3,
  argCount: 4,
  /** The next untaken task of the current call (assembly/tasks.ts reads it at byte 20). */
  tasks: 5,
  /** Byte offset of the float64 arguments. */
  argsByteOffset: 32,
  maxArgs: 32,
  /**
   * How long a worker polls for the next call, and the caller for the workers' end, before
   * sleeping in Atomics.wait: a forward pass's calls follow each other within microseconds, and
   * waking a thread that slept costs tens of them (a 1x128 int8 forward 5% faster, 2 threads).
   */
  spinMilliseconds: 0.25,
  /** Bytes the control block takes (the heap starts after it). */
  bytes: 32 + 32 * 8,
} as const;
