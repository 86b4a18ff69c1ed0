// A trie over the vocabulary's UTF-16 units, stored as one open-addressing hash table of
// (node, unit) -> child. WordPiece's greedy longest match becomes a single walk from the start of
// the remaining word, with no substring built and no quadratic retrying.

const EMPTY = -1;

export class VocabTrie {
  /** Token id at each node, -1 where no token ends. */
  private nodeTokenId: Int32Array;
  private nodeCount = 1;
  private keyNode: Int32Array;
  private keyUnit: Uint16Array;
  private childNode: Int32Array;
  private mask: number;

  constructor(vocab: Map<string, number>) {
    let units = 1;
    for (const token of vocab.keys()) units += token.length;
    let slots = 1024;
    while (slots < units * 2) slots *= 2;
    this.mask = slots - 1;
    this.keyNode = new Int32Array(slots).fill(EMPTY);
    this.keyUnit = new Uint16Array(slots);
    this.childNode = new Int32Array(slots);
    this.nodeTokenId = new Int32Array(units).fill(-1);
    for (const [token, id] of vocab) this.insert(token, id);
  }

  private slotOf(node: number, unit: number): number {
    let slot = (Math.imul(node, 0x9e3779b1) ^ Math.imul(unit, 0x85ebca6b)) & this.mask;
    while (true) {
      const key = this.keyNode[slot];
      if (key === EMPTY || (key === node && this.keyUnit[slot] === unit)) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  private insert(token: string, id: number): void {
    let node = 0;
    for (let i = 0; i < token.length; i++) {
      const unit = token.charCodeAt(i);
      const slot = this.slotOf(node, unit);
      if (this.keyNode[slot] === EMPTY) {
        this.keyNode[slot] = node;
        this.keyUnit[slot] = unit;
        this.childNode[slot] = this.nodeCount++;
      }
      node = this.childNode[slot];
    }
    this.nodeTokenId[node] = id;
  }

  /** The child of `node` along `unit`, or -1. */
  child(node: number, unit: number): number {
    let slot = (Math.imul(node, 0x9e3779b1) ^ Math.imul(unit, 0x85ebca6b)) & this.mask;
    const keyNode = this.keyNode;
    while (true) {
      const key = keyNode[slot];
      if (key === node && this.keyUnit[slot] === unit) return this.childNode[slot];
      if (key === EMPTY) return -1;
      slot = (slot + 1) & this.mask;
    }
  }

  /** The node reached by walking `text` from the root, or -1. */
  walk(text: string): number {
    let node = 0;
    for (let i = 0; i < text.length && node >= 0; i++) node = this.child(node, text.charCodeAt(i));
    return node;
  }

  tokenIdAt(node: number): number {
    return this.nodeTokenId[node];
  }
}
