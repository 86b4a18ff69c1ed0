// Turns the arrays of one kernel call into byte offsets in the WebAssembly memory. Arrays the
// backend allocated are used in place; any other array (float32, or the int32 labels and byte
// flags some kernels read) is copied into a scratch area first and, if the kernel writes it,
// copied back afterwards.

import type { WasmHeap } from "./heap.js";

const MIN_SCRATCH_BYTES = 1 << 20;

type Operand = Float32Array | Int32Array | Uint8Array;

function bytesOf(array: Operand): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

export class Operands {
  private scratchStart = 0;
  private scratchEnd = 0;
  private scratchTop = 0;
  private readonly offsets = new Map<Operand, number>();
  private readonly copyBack: Operand[] = [];
  /** Scratch areas outgrown during the current call. */
  private readonly abandoned: number[] = [];

  constructor(private readonly heap: WasmHeap) {}

  /** An array the kernel reads. */
  input(array: Operand): number {
    return this.place(array, false);
  }

  /** An array the kernel writes (and may read first, as when accumulating). */
  output(array: Float32Array): number {
    return this.place(array, true);
  }

  /** An optional input: offset 0 tells the kernel it is absent. */
  optional(array: Float32Array | undefined): number {
    return array ? this.input(array) : 0;
  }

  /** Copies written foreign arrays back and frees the scratch area for the next call. */
  finish(): void {
    for (const array of this.copyBack) {
      bytesOf(array).set(this.heap.bytes(this.offsets.get(array) as number, array.byteLength));
    }
    this.copyBack.length = 0;
    this.offsets.clear();
    this.scratchTop = this.scratchStart;
    for (const offset of this.abandoned) this.heap.release(offset);
    this.abandoned.length = 0;
  }

  private place(array: Operand, written: boolean): number {
    if (this.heap.owns(array)) return array.byteOffset;
    let offset = this.offsets.get(array);
    if (offset === undefined) {
      offset = this.scratch(array.byteLength);
      this.heap.bytes(offset, array.byteLength).set(bytesOf(array));
      this.offsets.set(array, offset);
    }
    if (written && !this.copyBack.includes(array)) this.copyBack.push(array);
    return offset;
  }

  private scratch(bytes: number): number {
    const size = Math.ceil(bytes / 64) * 64;
    if (this.scratchTop + size > this.scratchEnd) {
      // Offsets handed out earlier in this call stay valid: the old area is given back only when
      // the call has finished.
      if (this.scratchEnd > 0) this.abandoned.push(this.scratchStart);
      const capacity = Math.max(MIN_SCRATCH_BYTES, 2 * (this.scratchEnd - this.scratchStart), size);
      this.scratchStart = this.heap.allocate(capacity);
      this.scratchEnd = this.scratchStart + capacity;
      this.scratchTop = this.scratchStart;
    }
    const offset = this.scratchTop;
    this.scratchTop += size;
    return offset;
  }
}
