// RFC 9162 (Certificate Transparency v2) section 2.1 Merkle tree over SHA-256:
// tree hash, inclusion and consistency proofs, their verification, and a
// compact-range accumulator for append-only logs. Hashes are treated as immutable
// values: results may share memory with the hashes passed in.
import { hash } from 'node:crypto'

const HASH_SIZE = 32
// Domain-separation prefixes (RFC 9162 2.1.1) keep a leaf from being passed off as an interior node.
const LEAF_PREFIX = 0x00
const NODE_PREFIX = 0x01

/** A digest's bytes as a plain Uint8Array view, so callers comparing or serialising never meet Buffer semantics. */
function digestBytes (digest: string, encoding: 'hex' | 'binary'): Uint8Array {
  // A short string decodes into Buffer's shared pool; hash()'s own 'buffer' output allocates a
  // fresh ArrayBuffer per digest, which cost more than hashing the 65 bytes of a node.
  const d = Buffer.from(digest, encoding)
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

function sha256 (data: Uint8Array): Uint8Array {
  return digestBytes(hash('sha256', data, 'binary'), 'binary')
}

const EMPTY_ROOT = sha256(new Uint8Array(0))

export function leafHash (data: Uint8Array): Uint8Array {
  const input = new Uint8Array(data.length + 1)
  input[0] = LEAF_PREFIX
  input.set(data, 1)
  return sha256(input)
}

/**
 * A leaf given as text: its UTF-8 bytes and their leaf hash (also as hex), encoded and hashed in
 * one pass (the prefix rides in the string, so the bytes are not copied again to hash them).
 */
export function encodeLeaf (text: string): { bytes: Uint8Array, hash: Uint8Array, hex: string } {
  const prefixed = Buffer.from('\u0000' + text)
  const hex = hash('sha256', prefixed, 'hex')
  return { bytes: new Uint8Array(prefixed.buffer, prefixed.byteOffset + 1, prefixed.byteLength - 1), hash: digestBytes(hex, 'hex'), hex }
}

// Hashing is synchronous, so one input buffer serves every interior node (an allocation per node
// was a tenth of a log append).
const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE)
nodeInput[0] = NODE_PREFIX

export function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeInput.set(left, 1)
  nodeInput.set(right, 1 + HASH_SIZE)
  return sha256(nodeInput)
}

export function merkleRoot (leaves: Uint8Array[]): Uint8Array {
  return rootFromLeafHashes(leaves.map(leafHash))
}

export function rootFromLeafHashes (hashes: Uint8Array[]): Uint8Array {
  // The empty root is returned as a copy so no caller can corrupt the shared constant.
  return hashes.length === 0 ? EMPTY_ROOT.slice() : rangeRoot(hashes, 0, hashes.length)
}

export function inclusionProof (index: number, leafHashes: Uint8Array[]): Uint8Array[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leafHashes.length) {
    throw new RangeError(`leaf index ${index} outside tree of size ${leafHashes.length}`)
  }
  const proof: Uint8Array[] = []
  pathInto(proof, index, (a, b) => rangeRoot(leafHashes, a, b), 0, leafHashes.length)
  return proof
}

export function consistencyProof (size1: number, leafHashes: Uint8Array[]): Uint8Array[] {
  if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > leafHashes.length) {
    throw new RangeError(`size ${size1} not in 1..${leafHashes.length}`)
  }
  const proof: Uint8Array[] = []
  subproofInto(proof, size1, (a, b) => rangeRoot(leafHashes, a, b), 0, leafHashes.length, true)
  return proof
}

// RFC 9162 2.1.3.2, step for step. Sizes can exceed 2^32, so LSB and shifts use
// % and / rather than the 32-bit bitwise operators.
export function verifyInclusion (
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: Uint8Array[],
  root: Uint8Array
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0) return false
  if (!isHash(leafHash) || !isHash(root) || !isHashList(proof)) return false
  // 1.
  if (index >= size) return false
  // 2.
  let fn = index
  let sn = size - 1
  // 3.
  let r = leafHash
  // 4.
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn)
        sn = half(sn)
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = half(fn)
    sn = half(sn)
  }
  // 5.
  return sn === 0 && equalBytes(r, root)
}

// RFC 9162 2.1.4.2, step for step. The RFC defines it only for 0 < first < second:
// equal sizes are consistent exactly when the roots match with nothing to prove,
// and an empty first tree has no root a proof could bind to, so it is refused.
export function verifyConsistency (
  size1: number,
  size2: number,
  proof: Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2)) return false
  if (!isHash(root1) || !isHash(root2) || !isHashList(proof)) return false
  if (size1 < 1 || size1 > size2) return false
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2)
  // 1.
  if (proof.length === 0) return false
  // 2.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof
  // 3.
  let fn = size1 - 1
  let sn = size2 - 1
  // 4.
  while (fn % 2 === 1) {
    fn = half(fn)
    sn = half(sn)
  }
  // 5. (path is non-empty: step 1 rejected an empty proof.)
  let fr = path[0] as Uint8Array
  let sr = fr
  // 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn)
        sn = half(sn)
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = half(fn)
    sn = half(sn)
  }
  // 7.
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2)
}

// Compact range over [0, size): the roots of the perfect subtrees that tile the
// leaves, largest first, one per set bit of size. Appending merges equal-sized
// neighbours like binary carry, so memory and time per append are O(log n).
export class MerkleAccumulator {
  readonly #nodes: Uint8Array[] = []
  #size = 0

  static fromLeafHashes (hashes: Uint8Array[]): MerkleAccumulator {
    const acc = new MerkleAccumulator()
    for (const h of hashes) acc.append(h)
    return acc
  }

  get size (): number {
    return this.#size
  }

  append (leafHash: Uint8Array): void {
    // A malformed hash folded in here would silently poison every later root.
    if (!isHash(leafHash)) throw new RangeError(`leaf hash must be ${HASH_SIZE} bytes`)
    let node = leafHash
    // Each trailing one bit of the old size is a same-sized subtree to merge with.
    for (let s = this.#size; s % 2 === 1; s = half(s)) {
      node = nodeHash(this.#nodes.pop() as Uint8Array, node)
    }
    this.#nodes.push(node)
    this.#size++
  }

  root (): Uint8Array {
    // MTH splits at the largest power of two below n, which is exactly the
    // leftmost stored subtree, so folding right to left reproduces it.
    const last = this.#nodes.at(-1)
    if (last === undefined) return EMPTY_ROOT.slice()
    let r = last
    for (let i = this.#nodes.length - 2; i >= 0; i--) {
      r = nodeHash(this.#nodes[i] as Uint8Array, r)
    }
    // A lone stored subtree root is internal state; a copy keeps callers from corrupting it.
    return r === last ? r.slice() : r
  }
}

// MTH over hashes[start, end), end > start. Index ranges instead of slices keep
// the recursion free of O(n log n) copying.
function rangeRoot (hashes: Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start
  if (n === 1) return hashes[start] as Uint8Array
  const k = splitPoint(n)
  return nodeHash(rangeRoot(hashes, start, start + k), rangeRoot(hashes, start + k, end))
}

/** MTH over leaves [start, end): from the leaf hashes, or from a tree's stored subtrees. */
type RangeRoot = (start: number, end: number) => Uint8Array

// PATH(m, D[start:end]) of RFC 9162 2.1.3.1, appended bottom-up to out.
function pathInto (out: Uint8Array[], m: number, root: RangeRoot, start: number, end: number): void {
  const n = end - start
  if (n === 1) return
  const k = splitPoint(n)
  if (m < k) {
    pathInto(out, m, root, start, start + k)
    out.push(root(start + k, end))
  } else {
    pathInto(out, m - k, root, start + k, end)
    out.push(root(start, start + k))
  }
}

// SUBPROOF(m, D[start:end], b) of RFC 9162 2.1.4.1, appended bottom-up to out.
function subproofInto (
  out: Uint8Array[],
  m: number,
  root: RangeRoot,
  start: number,
  end: number,
  b: boolean
): void {
  const n = end - start
  if (m === n) {
    if (!b) out.push(root(start, end))
    return
  }
  const k = splitPoint(n)
  if (m <= k) {
    subproofInto(out, m, root, start, start + k, b)
    out.push(root(start + k, end))
  } else {
    subproofInto(out, m - k, root, start + k, end, false)
    out.push(root(start, start + k))
  }
}

/**
 * An append-only tree that keeps the hash of every complete, aligned subtree (about 2n hashes).
 * Every subtree MTH splits off on its left is one of those, so the root at any earlier size and
 * any proof cost O(log² n) hashes instead of rehashing the leaves.
 */
export class MerkleTree {
  /** levels[h][i]: the subtree over leaves [i·2^h, (i+1)·2^h). levels[0] are the leaf hashes. */
  readonly #levels: Uint8Array[][] = [[]]

  get size (): number { return this.#levels[0]!.length }

  get leaves (): readonly Uint8Array[] { return this.#levels[0]! }

  append (leafHash: Uint8Array): void {
    if (!isHash(leafHash)) throw new RangeError(`leaf hash must be ${HASH_SIZE} bytes`)
    let level = this.#levels[0]!
    level.push(leafHash)
    for (let h = 0; level.length % 2 === 0; h++) {
      const up = this.#levels[h + 1] ??= []
      up.push(nodeHash(level[level.length - 2]!, level[level.length - 1]!))
      level = up
    }
  }

  readonly #range: RangeRoot = (start, end) => {
    const n = end - start
    if (n === 1) return this.#levels[0]![start]!
    if (isPowerOfTwo(n) && start % n === 0) return this.#levels[Math.log2(n)]![start / n]!
    const k = splitPoint(n)
    return nodeHash(this.#range(start, start + k), this.#range(start + k, end))
  }

  #checkSize (size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) throw new RangeError(`size ${size} not in 0..${this.size}`)
  }

  /** The root the tree had at `size` leaves. */
  root (size = this.size): Uint8Array {
    this.#checkSize(size)
    return size === 0 ? EMPTY_ROOT.slice() : this.#range(0, size).slice()
  }

  inclusionProof (index: number, size = this.size): Uint8Array[] {
    this.#checkSize(size)
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf index ${index} outside tree of size ${size}`)
    const proof: Uint8Array[] = []
    pathInto(proof, index, this.#range, 0, size)
    return proof
  }

  /** Proof that the tree at `size2` extends the tree at `size1` (1 ≤ size1 ≤ size2). */
  consistencyProof (size1: number, size2 = this.size): Uint8Array[] {
    this.#checkSize(size2)
    if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > size2) throw new RangeError(`size ${size1} not in 1..${size2}`)
    const proof: Uint8Array[] = []
    subproofInto(proof, size1, this.#range, 0, size2, true)
    return proof
  }
}

// Largest power of two strictly below n (n >= 2). Array lengths stay below 2^32,
// where Math.clz32 is exact.
function splitPoint (n: number): number {
  return 2 ** (31 - Math.clz32(n - 1))
}

function half (x: number): number {
  return Math.floor(x / 2)
}

function isPowerOfTwo (x: number): boolean {
  while (x % 2 === 0) x /= 2
  return x === 1
}

function isHash (x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === HASH_SIZE
}

// Indexed rather than every(), which skips holes and would let a sparse array through.
function isHashList (xs: unknown): xs is Uint8Array[] {
  if (!Array.isArray(xs)) return false
  for (let i = 0; i < xs.length; i++) if (!isHash(xs[i])) return false
  return true
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
