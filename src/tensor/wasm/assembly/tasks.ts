// Dynamic work sharing: a kernel call is cut into numbered tasks and every thread takes the next
// untaken one from a shared counter, so a thread the OS descheduled (a busy machine, a browser
// tab in the background) delays the call by one task rather than by its whole static share.
// The caller zeroes the counter before each call (control.ts: slot `tasks`, byte 20).

const TASK_COUNTER: usize = 20;

export function nextTask(): i32 {
  return atomic.add<i32>(TASK_COUNTER, 1);
}
