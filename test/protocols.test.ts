// The normative spec in protocols/ must not drift from the code: every JSON Schema file equals
// what the TypeBox schemas generate, and every worked example in the documents verifies.
import { describe, it, expect } from 'vitest'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { jsonSchemas, schemaFileText } from '../src/records/json-schemas.js'
import { recordTypes } from '../src/records/registry.js'
import { canonicalize, canonicalBytes } from '../src/records/canonical.js'
import { decodeRecord, recordId, verifyRecord } from '../src/records/envelope.js'
import { sha256Hex, toHex } from '../src/records/bytes.js'
import { verifyBundle } from '../src/log/bundle.js'
import { GENESIS, type LogEntry } from '../src/log/record-log.js'
import { leafHash, MerkleAccumulator, rootFromLeafHashes } from '../src/log/merkle.js'
import { isConsistent } from '../src/log/checkpoint.js'

const root = join(import.meta.dirname, '..', 'protocols')
const read = (name: string): string => readFileSync(join(root, name), 'utf8')

interface Block { info: string, attrs: Record<string, string>, text: string }

/** Fenced code blocks whose info string starts with `lang tag`, e.g. ```json example-record id=… */
function blocks (markdown: string, lang: string, tag: string): Block[] {
  const out: Block[] = []
  const fence = /^```([^\n]*)\n([\s\S]*?)^```$/gm
  for (const m of markdown.matchAll(fence)) {
    const info = (m[1] ?? '').trim()
    const [l, t, ...rest] = info.split(/\s+/)
    if (l !== lang || t !== tag) continue
    const attrs = Object.fromEntries(rest.map(kv => kv.split('=') as [string, string]))
    out.push({ info, attrs, text: m[2] ?? '' })
  }
  return out
}

describe('protocols/schemas', () => {
  const generated = jsonSchemas()

  it('has one schema per record type plus the envelope and the audit bundle', () => {
    expect(Object.keys(generated).sort()).toEqual([
      'audit-bundle.schema.json', 'envelope.schema.json', ...recordTypes.map(t => `${t}.schema.json`)
    ].sort())
    for (const [name, schema] of Object.entries(generated)) {
      expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#')
      expect(schema.$id).toBe(`https://pairgrid.dev/protocols/schemas/${name}`)
      expect(typeof schema.title).toBe('string')
    }
  })

  it('every file equals what jsonSchemas() produces, and no file is extra (run `npm run schemas`)', () => {
    const files = readdirSync(join(root, 'schemas')).filter(f => f.endsWith('.json')).sort()
    expect(files).toEqual(Object.keys(generated).sort())
    for (const [name, schema] of Object.entries(generated)) {
      expect(read(join('schemas', name)), name).toBe(schemaFileText(schema))
    }
  })
})

// Record examples live in records.md, and those of the peer-to-peer trade records in trade.md.
const exampleDocs = ['records.md', 'trade.md'].filter(name => existsSync(join(root, name)))

describe(`worked example records (${exampleDocs.join(', ')})`, () => {
  const records = exampleDocs.flatMap(name => blocks(read(name), 'json', 'example-record'))
  const canon = exampleDocs.flatMap(name => blocks(read(name), 'text', 'example-canonical'))

  it('has a signed example of every record type in the registry, and one only', () => {
    const types = records.map(b => (JSON.parse(b.text) as { type: string }).type)
    expect([...types].sort()).toEqual([...recordTypes].sort())
  })

  it('every example verifies and has the id it states', () => {
    for (const b of records) {
      const value = JSON.parse(b.text) as { type: string }
      const v = verifyRecord(value)
      expect(v.id, value.type).toBe(b.attrs.id)
      expect(recordId(v.record)).toBe(b.attrs.id)
      // Complete: every named signer has signed.
      expect(decodeRecord(canonicalBytes(value)).id).toBe(b.attrs.id)
    }
  })

  it('every stated canonical form is the canonical unsigned form and hashes to the id', () => {
    expect(canon.length).toBe(records.length)
    for (const c of canon) {
      const rec = records.find(r => r.attrs.id === c.attrs.id)
      expect(rec, c.attrs.id).toBeDefined()
      const value = JSON.parse(rec!.text) as { v: number, type: string, body: unknown }
      const text = c.text.replace(/\n$/, '')
      expect(text).toBe(canonicalize({ v: value.v, type: value.type, body: value.body }))
      expect(sha256Hex(new TextEncoder().encode(text))).toBe(c.attrs.id)
    }
  })
})

describe('protocols/log-and-bundles.md worked examples', () => {
  const md = read('log-and-bundles.md')

  it('the example log chains, verifies and has the stated head', () => {
    const [b] = blocks(md, 'json', 'example-log')
    expect(b).toBeDefined()
    const entries = JSON.parse(b!.text) as LogEntry[]
    const tree = new MerkleAccumulator()
    const seen = new Map<string, number>()
    let prev = GENESIS
    entries.forEach((e, i) => {
      expect(e.seq).toBe(i)
      expect(e.prev).toBe(prev)
      const v = verifyRecord(e.record)
      expect(v.id).toBe(e.id)
      const known = seen.get(e.id)
      expect(e.kind).toBe(known === undefined ? 'record' : 'cosign')
      if (known !== undefined) expect(e.record.sigs.length).toBeGreaterThan(known)
      seen.set(e.id, e.record.sigs.length)
      const h = leafHash(canonicalBytes(e))
      tree.append(h)
      prev = toHex(h)
    })
    expect(String(entries.length)).toBe(b!.attrs.size)
    expect(prev).toBe(b!.attrs.hash)
    expect(toHex(tree.root())).toBe(b!.attrs.root)
  })

  it('the example settlement\'s checkpoints are the example log at their size, and the checkpoint example proves it grew from there', () => {
    const settlement = blocks(read('records.md'), 'json', 'example-record').map(b => JSON.parse(b.text) as { type: string, body: { ledger: Record<'provider' | 'requester', { size: number, root: string }> } }).find(r => r.type === 'grid.settlement')!
    const entries = JSON.parse(blocks(md, 'json', 'example-log')[0]!.text) as LogEntry[]
    const leaves = entries.map(e => leafHash(canonicalBytes(e)))
    const { provider, requester } = settlement.body.ledger
    // Both parties' logs held the same entries when the provider signed.
    for (const cp of [provider, requester]) expect(toHex(rootFromLeafHashes(leaves.slice(0, cp.size)))).toBe(cp.root)
    const [q] = blocks(md, 'json', 'example-checkpoint-query')
    const [a] = blocks(md, 'json', 'example-checkpoint-answer')
    const query = JSON.parse(q!.text) as { from: number, to?: number }
    const answer = JSON.parse(a!.text) as { checkpoint: { size: number, root: string }, proof: string[] }
    expect(query.from).toBe(provider.size)
    expect(answer.checkpoint).toEqual({ size: entries.length, root: toHex(rootFromLeafHashes(leaves)) })
    expect(isConsistent(provider, answer.checkpoint, answer.proof)).toBe(true)
    expect(isConsistent({ ...provider, root: requester.root.replace(/^./, c => c === '0' ? '1' : '0') }, answer.checkpoint, answer.proof)).toBe(false)
  })

  it('the example audit bundle verifies with the stated status', () => {
    const [b] = blocks(md, 'json', 'example-bundle')
    expect(b).toBeDefined()
    const verdict = verifyBundle(JSON.parse(b!.text))
    expect(verdict.ok ? verdict.summary.status : verdict.fault).toBe(b!.attrs.status)
    const [stated] = blocks(md, 'json', 'example-verdict')
    expect(verdict).toEqual(JSON.parse(stated!.text))
  })
})

describe('protocols/settlement-methods.md worked example', () => {
  it('the stated settlement body is the body of the example settlement record', () => {
    const md = read('records.md')
    const settlement = blocks(md, 'json', 'example-record').map(b => JSON.parse(b.text) as { type: string, body: unknown }).find(r => r.type === 'grid.settlement')!
    const stated = /The settlement body the provider signs[^\n]*\n\n```json\n([\s\S]*?)^```$/m.exec(read('settlement-methods.md'))
    expect(stated).not.toBeNull()
    expect(canonicalize(JSON.parse(stated![1]!))).toBe(canonicalize(settlement.body))
  })
})
