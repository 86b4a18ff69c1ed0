// The WebAssembly memory, shared by the caller and every worker, and an allocator over it: blocks
// given back are reused first fit (and merged with free neighbours); past them, the top grows.
//
// Growing a shared memory gives `memory.buffer` a new SharedArrayBuffer object, while views made
// on the old one stay valid (the storage is the same). So an array is "ours" when its buffer is
// one of the buffer objects this memory has handed out, not when it is `memory.buffer`.

const PAGE_BYTES = 65536;
const MAX_PAGES = 65536;
const ALIGN = 64;

interface Block {
  offset: number;
  bytes: number;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  /** Blocks in use: offset -> bytes. */
  private readonly used = new Map<number, number>();
  /** Blocks given back, by offset, never adjacent (merged). */
  private readonly released: Block[] = [];

  /** `reserved` bytes at the start are left for the control block. */
  constructor(initialPages: number, reserved: number) {
    this.memory = new WebAssembly.Memory({
      initial: initialPages,
      maximum: MAX_PAGES,
      shared: true,
    });
    this.buffers.add(this.memory.buffer);
    this.top = align(reserved);
  }

  /** A zero-filled block of `bytes`, 64-byte aligned; returns its byte offset. */
  allocate(bytes: number): number {
    const size = align(Math.max(1, bytes));
    const fit = this.released.findIndex((block) => block.bytes >= size);
    if (fit >= 0) {
      const block = this.released[fit];
      const offset = block.offset;
      if (block.bytes === size) this.released.splice(fit, 1);
      else this.released[fit] = { offset: offset + size, bytes: block.bytes - size };
      new Uint8Array(this.memory.buffer, offset, size).fill(0);
      this.used.set(offset, size);
      return offset;
    }
    const offset = this.top;
    const end = offset + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const needed = Math.ceil((end - have) / PAGE_BYTES);
      const pages = Math.min(
        Math.max(needed, have / PAGE_BYTES / 2),
        MAX_PAGES - have / PAGE_BYTES,
      );
      if (pages < needed) {
        throw new RangeError(
          `the WebAssembly backend is out of memory (4 GiB): cannot allocate ${bytes} more bytes`,
        );
      }
      this.memory.grow(pages);
      this.buffers.add(this.memory.buffer);
    }
    this.top = end;
    this.used.set(offset, size);
    return offset;
  }

  /** Gives back the block `allocate` returned at `offset`. */
  release(offset: number): void {
    const bytes = this.used.get(offset);
    if (bytes === undefined)
      throw new Error(`no block of the WebAssembly heap starts at ${offset}`);
    this.used.delete(offset);
    let block: Block = { offset, bytes };
    let at = this.released.findIndex((other) => other.offset > offset);
    if (at < 0) at = this.released.length;
    const next = this.released[at];
    if (next && block.offset + block.bytes === next.offset) {
      block = { offset, bytes: bytes + next.bytes };
      this.released.splice(at, 1);
    }
    const previous = this.released[at - 1];
    if (previous && previous.offset + previous.bytes === block.offset) {
      block = { offset: previous.offset, bytes: previous.bytes + block.bytes };
      this.released.splice(at - 1, 1);
      at -= 1;
    }
    if (block.offset + block.bytes === this.top) this.top = block.offset;
    else this.released.splice(at, 0, block);
  }

  /** Bytes in blocks in use. */
  get bytesInUse(): number {
    let total = 0;
    for (const bytes of this.used.values()) total += bytes;
    return total;
  }

  floats(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }

  bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }

  owns(array: ArrayBufferView): boolean {
    return this.buffers.has(array.buffer);
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / ALIGN) * ALIGN;
}
