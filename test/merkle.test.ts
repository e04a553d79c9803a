import { randomBytes } from 'node:crypto'
import { describe, it, expect } from 'vitest'
import {
  MerkleAccumulator,
  MerkleTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion
} from '../src/log/merkle.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const hexes = (bs: Uint8Array[]): string[] => bs.map(hex)

// Known answers copied verbatim from github.com/transparency-dev/merkle, Google's
// RFC 6962 reference vectors (RFC 9162 keeps the same tree hash):
//   testonly/constants.go       LeafInputs, NodeHashes, RootHashes
//   testonly/reference_test.go  TestRefInclusionProof, TestRefConsistencyProof
//   proof/verify_test.go        consistencyProofs (adds the 6 -> 7 case)
const LEAF_INPUTS = [
  '', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'
].map(unhex)

// NODE_HASHES[level][i] is the root of the perfect subtree of 2^level leaves starting at leaf i * 2^level.
const NODE_HASHES = [[
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1'
], [
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
  '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
  'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0'
], [
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'
], [
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'
]]

// ROOTS[n] is MTH of the first n inputs.
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'
]

const INCLUSION_VECTORS: Array<{ index: number, size: number, path: string[] }> = [
  { index: 0, size: 1, path: [] },
  { index: 0, size: 2, path: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7'] },
  { index: 1, size: 2, path: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'] },
  { index: 2, size: 3, path: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    path: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'
    ]
  },
  {
    index: 0,
    size: 8,
    path: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'
    ]
  },
  {
    index: 5,
    size: 8,
    path: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'
    ]
  }
]

const CONSISTENCY_VECTORS: Array<{ size1: number, size2: number, proof: string[] }> = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'
    ]
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'
    ]
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'
    ]
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'
    ]
  }
]

const VECTOR_LEAF_HASHES = LEAF_INPUTS.map(leafHash)

// Distinct leaves, so a tampered proof can only verify through a SHA-256 collision.
function leafHashesOf (n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)))
}

function flipped (b: Uint8Array, at: number): Uint8Array {
  const c = b.slice()
  c[at] = (c[at] as number) ^ 0xff
  return c
}

function replaced (proof: Uint8Array[], at: number, value: Uint8Array): Uint8Array[] {
  return proof.map((p, i) => (i === at ? value : p))
}

function largestPowerOfTwoBelow (n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

// The RFC 9162 verifiers see only hashes and sizes, never the leaves, so a proof
// for one (index, size) is also accepted for any other (index, size) whose tree
// combines the same proof positions in the same order: the tree size is bound by
// the signed tree head, not by the proof. These shapes are built from the
// recursive PATH / PROOF definitions (independently of the verifiers), and a
// tampered query must verify exactly when its shape equals the genuine one.
function inclusionShape (index: number, size: number): string {
  let next = 0
  const walk = (m: number, n: number): string => {
    if (n === 1) return 'leaf'
    const k = largestPowerOfTwoBelow(n)
    if (m < k) {
      const inner = walk(m, k)
      return `(${inner},p${next++})`
    }
    const inner = walk(m - k, n - k)
    return `(p${next++},${inner})`
  }
  return walk(index, size)
}

function consistencyShape (size1: number, size2: number): string {
  let next = 0
  // Returns the expressions of the old and the new subtree root over [0, n).
  const walk = (m: number, n: number, b: boolean): [string, string] => {
    if (m === n) {
      if (b) return ['root1', 'root1']
      const p = `p${next++}`
      return [p, p]
    }
    const k = largestPowerOfTwoBelow(n)
    if (m <= k) {
      const [oldRoot, newRoot] = walk(m, k, b)
      return [oldRoot, `(${newRoot},p${next++})`]
    }
    const [oldRoot, newRoot] = walk(m - k, n - k, false)
    const left = `p${next++}`
    return [`(${left},${oldRoot})`, `(${left},${newRoot})`]
  }
  return walk(size1, size2, true).join(' | ')
}

describe('hashing known answers', () => {
  it('hashes leaves with the 0x00 prefix', () => {
    expect(LEAF_INPUTS.map((d) => hex(leafHash(d)))).toEqual(NODE_HASHES[0])
  })

  it('hashes interior nodes with the 0x01 prefix', () => {
    for (let level = 1; level < NODE_HASHES.length; level++) {
      const below = (NODE_HASHES[level - 1] as string[]).map(unhex)
      const got = (NODE_HASHES[level] as string[]).map((_, i) =>
        hex(nodeHash(below[2 * i] as Uint8Array, below[2 * i + 1] as Uint8Array)))
      expect(got).toEqual(NODE_HASHES[level])
    }
  })

  it('computes MTH for tree sizes 0..8 from data and from leaf hashes', () => {
    for (let n = 0; n <= 8; n++) {
      expect(hex(merkleRoot(LEAF_INPUTS.slice(0, n)))).toBe(ROOTS[n])
      expect(hex(rootFromLeafHashes(VECTOR_LEAF_HASHES.slice(0, n)))).toBe(ROOTS[n])
    }
  })

  it('returns plain Uint8Arrays of 32 bytes', () => {
    for (const h of [leafHash(new Uint8Array()), nodeHash(new Uint8Array(32), new Uint8Array(32)), merkleRoot([])]) {
      expect(Object.getPrototypeOf(h)).toBe(Uint8Array.prototype)
      expect(h.length).toBe(32)
    }
  })

  it('does not let a caller corrupt the shared empty root', () => {
    merkleRoot([]).fill(0)
    expect(hex(merkleRoot([]))).toBe(ROOTS[0])
  })
})

describe('inclusion proof known answers', () => {
  it.each(INCLUSION_VECTORS)('PATH($index, D[$size])', ({ index, size, path }) => {
    const hashes = VECTOR_LEAF_HASHES.slice(0, size)
    expect(hexes(inclusionProof(index, hashes))).toEqual(path)
    const root = unhex(ROOTS[size] as string)
    expect(verifyInclusion(index, size, VECTOR_LEAF_HASHES[index] as Uint8Array, path.map(unhex), root)).toBe(true)
  })
})

describe('consistency proof known answers', () => {
  it.each(CONSISTENCY_VECTORS)('PROOF($size1, D[$size2])', ({ size1, size2, proof }) => {
    expect(hexes(consistencyProof(size1, VECTOR_LEAF_HASHES.slice(0, size2)))).toEqual(proof)
    const root1 = unhex(ROOTS[size1] as string)
    const root2 = unhex(ROOTS[size2] as string)
    expect(verifyConsistency(size1, size2, proof.map(unhex), root1, root2)).toBe(true)
  })
})

describe('proof generation rejects impossible requests', () => {
  const hashes = leafHashesOf(5)

  it('refuses leaf indices outside the tree', () => {
    for (const index of [-1, 5, 6, 1.5, Number.NaN]) {
      expect(() => inclusionProof(index, hashes)).toThrow(RangeError)
    }
    expect(() => inclusionProof(0, [])).toThrow(RangeError)
  })

  it('refuses first sizes outside 1..size2', () => {
    for (const size1 of [0, -1, 6, 2.5, Number.NaN]) {
      expect(() => consistencyProof(size1, hashes)).toThrow(RangeError)
    }
  })
})

// Hundreds of thousands of probes: collecting mismatches and asserting once keeps
// expect() overhead out of the run and reports every failing probe together.
class Probes {
  readonly failures: string[] = []
  check (actual: boolean, expected: boolean, what: () => string): void {
    if (actual !== expected) this.failures.push(`${what()}: got ${actual}, want ${expected}`)
  }
}

describe('inclusion proofs for every leaf of trees of size 1..64', () => {
  const MAX = 64
  const all = leafHashesOf(2 * MAX)

  it('verify, and fail under every kind of tampering', () => {
    const probes = new Probes()
    for (let size = 1; size <= MAX; size++) {
      const hashes = all.slice(0, size)
      const root = rootFromLeafHashes(hashes)
      for (let index = 0; index < size; index++) {
        const leaf = hashes[index] as Uint8Array
        const proof = inclusionProof(index, hashes)
        const check = (i: number, n: number, l: Uint8Array, p: Uint8Array[], r: Uint8Array, expected: boolean, what: string): void =>
          probes.check(verifyInclusion(i, n, l, p, r), expected, () => `index ${index} size ${size}: ${what}`)

        check(index, size, leaf, proof, root, true, 'genuine')
        for (let j = 0; j < proof.length; j++) {
          for (let at = 0; at < 32; at++) {
            check(index, size, leaf, replaced(proof, j, flipped(proof[j] as Uint8Array, at)), root, false, `proof[${j}] byte ${at}`)
          }
        }
        for (let at = 0; at < 32; at++) {
          check(index, size, flipped(leaf, at), proof, root, false, `leaf byte ${at}`)
          check(index, size, leaf, proof, flipped(root, at), false, `root byte ${at}`)
        }

        // Any other position of the same tree walks a different path.
        for (let other = -1; other <= size + 1; other++) {
          if (other !== index) check(other, size, leaf, proof, root, false, `index ${other}`)
        }
        const shape = inclusionShape(index, size)
        for (let other = 0; other <= 2 * MAX; other++) {
          if (other === size) continue
          const expected = index < other && inclusionShape(index, other) === shape
          check(index, other, leaf, proof, root, expected, `size ${other}`)
        }

        for (let j = 0; j < proof.length; j++) {
          check(index, size, leaf, proof.filter((_, i) => i !== j), root, false, `dropped proof[${j}]`)
        }
        for (let j = 0; j <= proof.length; j++) {
          for (const [name, extra] of [['root', root], ['leaf', leaf], ['other leaf', all[2 * MAX - 1] as Uint8Array]] as const) {
            check(index, size, leaf, [...proof.slice(0, j), extra, ...proof.slice(j)], root, false, `${name} inserted at ${j}`)
          }
        }
      }
    }
    expect(probes.failures).toEqual([])
  })

  it('binds a proof to its tree only through the root, as shape equivalence predicts', () => {
    // PATH(0, D[3]) and PATH(0, D[4]) combine their two elements identically.
    const hashes = all.slice(0, 3)
    const proof = inclusionProof(0, hashes)
    expect(inclusionShape(0, 3)).toBe(inclusionShape(0, 4))
    expect(verifyInclusion(0, 4, hashes[0] as Uint8Array, proof, rootFromLeafHashes(hashes))).toBe(true)
  })
})

describe('consistency proofs for every 1 <= m <= n <= 40', () => {
  const MAX = 40
  const all = leafHashesOf(2 * MAX)
  const roots = Array.from({ length: 2 * MAX + 1 }, (_, n) => rootFromLeafHashes(all.slice(0, n)))

  it('verify, and fail under every kind of tampering', () => {
    const probes = new Probes()
    for (let size2 = 1; size2 <= MAX; size2++) {
      const hashes = all.slice(0, size2)
      const root2 = roots[size2] as Uint8Array
      for (let size1 = 1; size1 <= size2; size1++) {
        const root1 = roots[size1] as Uint8Array
        const proof = consistencyProof(size1, hashes)
        const check = (m: number, n: number, p: Uint8Array[], r1: Uint8Array, r2: Uint8Array, expected: boolean, what: string): void =>
          probes.check(verifyConsistency(m, n, p, r1, r2), expected, () => `${size1} -> ${size2}: ${what}`)

        check(size1, size2, proof, root1, root2, true, 'genuine')
        probes.check(proof.length === 0, size1 === size2, () => `${size1} -> ${size2}: proof empty`)
        for (let j = 0; j < proof.length; j++) {
          for (let at = 0; at < 32; at++) {
            check(size1, size2, replaced(proof, j, flipped(proof[j] as Uint8Array, at)), root1, root2, false, `proof[${j}] byte ${at}`)
          }
        }
        for (let at = 0; at < 32; at++) {
          check(size1, size2, proof, flipped(root1, at), root2, false, `root1 byte ${at}`)
          check(size1, size2, proof, root1, flipped(root2, at), false, `root2 byte ${at}`)
        }
        if (size1 !== size2) check(size1, size2, proof, root2, root1, false, 'swapped roots')

        const shape = consistencyShape(size1, size2)
        for (const other2 of new Set([size2 - 1, size2, size2 + 1, 2 * size2])) {
          for (let other1 = 0; other1 <= size2 + 1; other1++) {
            if (other1 === size1 && other2 === size2) continue
            const expected = other1 >= 1 && other1 <= other2 && consistencyShape(other1, other2) === shape
            check(other1, other2, proof, root1, root2, expected, `sizes ${other1} -> ${other2}`)
          }
        }

        if (proof.length > 0) check(size1, size2, [], root1, root2, false, 'empty proof')
        for (let j = 0; j < proof.length; j++) {
          check(size1, size2, proof.slice(0, j), root1, root2, false, `truncated to ${j}`)
          check(size1, size2, proof.filter((_, i) => i !== j), root1, root2, false, `dropped proof[${j}]`)
        }
        for (let j = 0; j <= proof.length; j++) {
          for (const [name, extra] of [['root1', root1], ['root2', root2], ['proof[0]', proof[0] ?? root1]] as const) {
            check(size1, size2, [...proof.slice(0, j), extra, ...proof.slice(j)], root1, root2, false, `${name} inserted at ${j}`)
          }
        }
      }
    }
    expect(probes.failures).toEqual([])
  })

  it('refuses size1 = 0, which has no root a proof could bind to', () => {
    const empty = merkleRoot([])
    expect(verifyConsistency(0, 0, [], empty, empty)).toBe(false)
    expect(verifyConsistency(0, 3, [], empty, roots[3] as Uint8Array)).toBe(false)
    expect(verifyConsistency(0, 3, consistencyProof(3, all.slice(0, 3)), empty, roots[3] as Uint8Array)).toBe(false)
  })

  it('requires equal roots and an empty proof for equal sizes', () => {
    const r = roots[5] as Uint8Array
    expect(verifyConsistency(5, 5, [], r, r.slice())).toBe(true)
    expect(verifyConsistency(5, 5, [], r, roots[6] as Uint8Array)).toBe(false)
    expect(verifyConsistency(5, 5, [r], r, r)).toBe(false)
  })

  it('refuses a first size beyond the second', () => {
    const proof = consistencyProof(3, all.slice(0, 6))
    expect(verifyConsistency(6, 3, proof, roots[6] as Uint8Array, roots[3] as Uint8Array)).toBe(false)
  })
})

describe('verifiers return false on malformed input instead of throwing', () => {
  const hashes = leafHashesOf(6)
  const root = rootFromLeafHashes(hashes)
  const leaf = hashes[3] as Uint8Array
  const proof = inclusionProof(3, hashes)
  const root2 = rootFromLeafHashes(hashes)
  const root1 = rootFromLeafHashes(hashes.slice(0, 3))
  const cproof = consistencyProof(3, hashes)
  const badNumbers = [Number.NaN, Infinity, -Infinity, 3.5, -1, 2 ** 53, '3', null, undefined] as unknown as number[]
  const badHashes = [new Uint8Array(31), new Uint8Array(33), new Uint8Array(0), 'x'.repeat(32), null] as unknown as Uint8Array[]
  const badProofs = [null, 'proof', [proof[0], , proof[2]], [...proof.slice(0, 2), 7], [...proof.slice(0, 2), new Uint8Array(31)]] as unknown as Uint8Array[][]

  it('verifyInclusion', () => {
    expect(verifyInclusion(3, 6, leaf, proof, root)).toBe(true)
    for (const n of badNumbers) {
      expect(verifyInclusion(n, 6, leaf, proof, root)).toBe(false)
      expect(verifyInclusion(3, n, leaf, proof, root)).toBe(false)
    }
    for (const h of badHashes) {
      expect(verifyInclusion(3, 6, h, proof, root)).toBe(false)
      expect(verifyInclusion(3, 6, leaf, proof, h)).toBe(false)
    }
    for (const p of badProofs) expect(verifyInclusion(3, 6, leaf, p, root)).toBe(false)
    // A lone leaf is its own root; a hash of the wrong size must not pass as one.
    expect(verifyInclusion(0, 1, new Uint8Array(31), [], new Uint8Array(31))).toBe(false)
  })

  it('verifyConsistency', () => {
    expect(verifyConsistency(3, 6, cproof, root1, root2)).toBe(true)
    for (const n of badNumbers) {
      expect(verifyConsistency(n, 6, cproof, root1, root2)).toBe(false)
      expect(verifyConsistency(3, n, cproof, root1, root2)).toBe(false)
    }
    for (const h of badHashes) {
      expect(verifyConsistency(3, 6, cproof, h, root2)).toBe(false)
      expect(verifyConsistency(3, 6, cproof, root1, h)).toBe(false)
      expect(verifyConsistency(6, 6, [], h, h)).toBe(false)
    }
    for (const p of badProofs) expect(verifyConsistency(3, 6, p, root1, root2)).toBe(false)
  })
})

describe('MerkleAccumulator', () => {
  it('matches rootFromLeafHashes after every append up to 300 leaves', () => {
    const hashes = leafHashesOf(300)
    const acc = new MerkleAccumulator()
    expect(acc.size).toBe(0)
    expect(hex(acc.root())).toBe(ROOTS[0])
    for (let n = 1; n <= hashes.length; n++) {
      acc.append(hashes[n - 1] as Uint8Array)
      expect(acc.size).toBe(n)
      expect(hex(acc.root())).toBe(hex(rootFromLeafHashes(hashes.slice(0, n))))
    }
  })

  it('reproduces the known-answer roots', () => {
    for (let n = 0; n <= 8; n++) {
      expect(hex(MerkleAccumulator.fromLeafHashes(VECTOR_LEAF_HASHES.slice(0, n)).root())).toBe(ROOTS[n])
    }
  })

  it('matches rootFromLeafHashes over a random 10,000-leaf run', () => {
    const hashes = Array.from({ length: 10_000 }, () => leafHash(randomBytes(1 + Math.floor(Math.random() * 64))))
    const checkpoints = new Set(Array.from({ length: 20 }, () => 1 + Math.floor(Math.random() * hashes.length)))
    const acc = new MerkleAccumulator()
    for (let n = 1; n <= hashes.length; n++) {
      acc.append(hashes[n - 1] as Uint8Array)
      if (checkpoints.has(n)) expect(hex(acc.root())).toBe(hex(rootFromLeafHashes(hashes.slice(0, n))))
    }
    const full = hex(rootFromLeafHashes(hashes))
    expect(hex(acc.root())).toBe(full)
    const rebuilt = MerkleAccumulator.fromLeafHashes(hashes)
    expect(rebuilt.size).toBe(hashes.length)
    expect(hex(rebuilt.root())).toBe(full)
  })

  it('keeps its state private from callers of root()', () => {
    const acc = MerkleAccumulator.fromLeafHashes(VECTOR_LEAF_HASHES.slice(0, 4))
    acc.root().fill(0)
    expect(hex(acc.root())).toBe(ROOTS[4])
  })

  it('refuses leaf hashes that are not 32 bytes', () => {
    const acc = new MerkleAccumulator()
    expect(() => acc.append(new Uint8Array(31))).toThrow(RangeError)
    expect(acc.size).toBe(0)
  })
})

describe('MerkleTree (stored subtrees)', () => {
  it('gives, at every earlier size, the root and proofs the leaf hashes give (sizes 1..70, every pair)', () => {
    const hashes = leafHashesOf(70)
    const tree = new MerkleTree()
    hashes.forEach(h => tree.append(h))
    const probes = new Probes()
    expect(hex(tree.root(0))).toBe(ROOTS[0])
    for (let n = 1; n <= hashes.length; n++) {
      const prefix = hashes.slice(0, n)
      probes.check(hex(tree.root(n)) === hex(rootFromLeafHashes(prefix)), true, () => `root at ${n}`)
      for (let i = 0; i < n; i++) probes.check(hexes(tree.inclusionProof(i, n)).join() === hexes(inclusionProof(i, prefix)).join(), true, () => `inclusion ${i} at ${n}`)
      for (let m = 1; m <= n; m++) probes.check(hexes(tree.consistencyProof(m, n)).join() === hexes(consistencyProof(m, prefix)).join(), true, () => `consistency ${m} → ${n}`)
    }
    expect(probes.failures).toEqual([])
  })

  it('reproduces the known-answer roots and proofs', () => {
    const tree = new MerkleTree()
    VECTOR_LEAF_HASHES.forEach(h => tree.append(h))
    for (let n = 0; n <= 8; n++) expect(hex(tree.root(n))).toBe(ROOTS[n])
    for (const { size1, size2, proof } of CONSISTENCY_VECTORS) expect(hexes(tree.consistencyProof(size1, size2))).toEqual(proof)
  })

  it('refuses sizes it has not reached, bad indexes and bad leaf hashes; keeps its state from callers', () => {
    const tree = new MerkleTree()
    VECTOR_LEAF_HASHES.slice(0, 4).forEach(h => tree.append(h))
    expect(() => tree.root(5)).toThrow(RangeError)
    expect(() => tree.root(-1)).toThrow(RangeError)
    expect(() => tree.inclusionProof(4, 4)).toThrow(RangeError)
    expect(() => tree.consistencyProof(0, 4)).toThrow(RangeError)
    expect(() => tree.consistencyProof(3, 5)).toThrow(RangeError)
    expect(() => tree.append(new Uint8Array(31))).toThrow(RangeError)
    tree.root(4).fill(0)
    expect(hex(tree.root(4))).toBe(ROOTS[4])
  })
})

describe('performance', () => {
  it('agrees with the accumulator on a 100,000-leaf tree (its speed is measured in bench/)', () => {
    const hashes = leafHashesOf(100_000)
    expect(hex(rootFromLeafHashes(hashes))).toBe(hex(MerkleAccumulator.fromLeafHashes(hashes).root()))
  })
})
