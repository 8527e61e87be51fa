// The index that lets a pair jump from event to event on one game: the edge's max and min over
// blocks of BLOCK ticks, and over aligned runs of 2^j blocks above them. Built once per game in
// O(n), it answers "first tick at or after k where the edge crosses v" in O(BLOCK + log n).

// NaN ticks: the spec's comparisons are false for NaN, so a NaN edge never opens or closes.
// Ticks are searched with the spec's own comparisons. A block's max is taken with NaN read as
// -Infinity and its min with NaN read as +Infinity (a NaN never moves them), so a block passes
// a finite threshold's test exactly when one of its ticks does. An infinite threshold (never a
// grid's, but a caller may pass one) is searched tick by tick, which is always exact.

// Why blocks at the bottom: a search climbs and descends the tree one dependent step at a time,
// so its cost is the tree's depth. Leaves of BLOCK ticks, scanned linearly as the plain kernel
// does, cut log2(BLOCK) levels and shrink the tree to at most n / 2 doubles (L1 up to ~5k ticks).

/** Ticks per leaf block (a power of two). 8 and 16 searched alike; 32 and 64 were slower. */
export const BLOCK = 16;
const SHIFT = Math.log2(BLOCK);

export class EdgeIndex {
  /** Ticks in the game last built. */
  n = 0;
  private edge: Float64Array<ArrayBufferLike> = new Float64Array(0);
  private abs: Float64Array<ArrayBufferLike> = new Float64Array(0);
  /** A complete binary tree in heap order: node 1 the root, node i's children 2i and 2i + 1,
   *  leaf block b at node leaves + b; node i's max at 2i, min at 2i + 1. Heap order makes a
   *  step to the right, to the parent or to a child plain arithmetic on i, with no table of
   *  level offsets in the searches' dependency chain. */
  private nodes = new Float64Array(1024);
  private leaves = 1;

  /** Index ticks [0, n) of edge; abs[k] must be Math.abs(edge[k]) (the kernel has it already). */
  build(edge: Float64Array, abs: Float64Array, n: number): void {
    const blocks = (n + BLOCK - 1) >> SHIFT;
    let leaves = 1;
    while (leaves < blocks) leaves *= 2;
    if (this.nodes.length < 4 * leaves) this.nodes = new Float64Array(4 * leaves);
    const t = this.nodes;
    for (let b = 0; b < blocks; b++) {
      let mx = -Infinity;
      let mn = Infinity;
      for (let k = b << SHIFT, end = Math.min(n, k + BLOCK); k < end; k++) {
        const d = edge[k];
        // a NaN tick fails both tests, so it never moves them: NaN counts as -Inf / +Inf
        if (d > mx) mx = d;
        if (d < mn) mn = d;
      }
      t[2 * (leaves + b)] = mx;
      t[2 * (leaves + b) + 1] = mn;
    }
    // padding leaves past the game: no tick, so they fail every finite test
    for (let i = leaves + blocks; i < 2 * leaves; i++) (t[2 * i] = -Infinity), (t[2 * i + 1] = Infinity);
    for (let i = leaves - 1; i >= 1; i--) {
      const c = 4 * i; // node 2i's max; 2i + 1's at c + 2
      t[2 * i] = t[c] > t[c + 2] ? t[c] : t[c + 2];
      t[2 * i + 1] = t[c + 1] < t[c + 3] ? t[c + 1] : t[c + 3];
    }
    this.edge = edge;
    this.abs = abs;
    this.n = n;
    this.leaves = leaves;
  }

  // Each search: the ticks left in k's block; then the first later block that passes - climb
  // while the subtrees to the right fail (from a left child to its parent, whose subtree starts
  // where it does; from a right child one step right), descend into the first subtree that
  // passes, left child first - then the ticks of that block.

  /** First tick >= k with |edge| >= e (edge >= e or -edge >= e), else n. */
  nextEntry(k: number, e: number): number {
    const { abs, n } = this;
    for (const end = Math.abs(e) < Infinity ? Math.min(n, ((k >> SHIFT) + 1) << SHIFT) : n; k < end; k++) if (abs[k] >= e) return k;
    if (k >= n) return n;
    const t = this.nodes;
    const ne = -e;
    let i = this.leaves + (k >> SHIFT);
    while (!(t[2 * i] >= e || t[2 * i + 1] <= ne)) {
      if ((++i & (i - 1)) === 0) return n; // stepped off the right end of a level
      i >>= (i & 1) ^ 1;
    }
    for (const leaves = this.leaves; i < leaves; ) {
      i *= 2;
      i += (t[2 * i] >= e || t[2 * i + 1] <= ne) ? 0 : 1;
    }
    for (k = (i - this.leaves) << SHIFT; !(abs[k] >= e); k++);
    return k;
  }

  /** First tick >= k with edge <= x (a long's exit), else n. */
  nextAtMost(k: number, x: number): number {
    const { edge, n } = this;
    for (const end = Math.abs(x) < Infinity ? Math.min(n, ((k >> SHIFT) + 1) << SHIFT) : n; k < end; k++) if (edge[k] <= x) return k;
    if (k >= n) return n;
    const t = this.nodes;
    let i = this.leaves + (k >> SHIFT);
    while (!(t[2 * i + 1] <= x)) {
      if ((++i & (i - 1)) === 0) return n;
      i >>= (i & 1) ^ 1;
    }
    for (const leaves = this.leaves; i < leaves; ) {
      i *= 2;
      i += t[2 * i + 1] <= x ? 0 : 1;
    }
    for (k = (i - this.leaves) << SHIFT; !(edge[k] <= x); k++);
    return k;
  }

  /** First tick >= k with -edge <= x (a short's exit), else n. */
  nextNegAtMost(k: number, x: number): number {
    const { edge, n } = this;
    for (const end = Math.abs(x) < Infinity ? Math.min(n, ((k >> SHIFT) + 1) << SHIFT) : n; k < end; k++) if (-edge[k] <= x) return k;
    if (k >= n) return n;
    const t = this.nodes;
    const nx = -x; // a block's max >= -x  <=>  one of its ticks has -edge <= x
    let i = this.leaves + (k >> SHIFT);
    while (!(t[2 * i] >= nx)) {
      if ((++i & (i - 1)) === 0) return n;
      i >>= (i & 1) ^ 1;
    }
    for (const leaves = this.leaves; i < leaves; ) {
      i *= 2;
      i += t[2 * i] >= nx ? 0 : 1;
    }
    for (k = (i - this.leaves) << SHIFT; !(-edge[k] <= x); k++);
    return k;
  }
}
