// The append-only, hash-chained record log. Entry i carries the leaf hash of entry i-1; the same
// leaf hashes form the RFC 9162 tree whose root a checkpoint signs. A record appears once as
// `record`; a later version with more signatures (a countersign) appears once more as `cosign`.
import type { AbstractSublevel } from 'abstract-level'
import type { Level } from 'level'
import { canonicalBytes } from '../records/canonical.js'
import { toHex } from '../records/bytes.js'
import { verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import type { RecordType } from '../records/registry.js'
import { leafHash, MerkleAccumulator } from './merkle.js'
import type { BatchOp, GroupCommitter } from './group-commit.js'
import type { NodeDb } from './db.js'

export const GENESIS = '0'.repeat(64)

export interface LogEntry {
  seq: number
  prev: string
  kind: 'record' | 'cosign'
  id: string
  record: Envelope
}

export interface LogHead { size: number, hash: string, root: string }

export class LogCorruptError extends Error {
  constructor (message: string) {
    super(`log corrupt: ${message}`)
    this.name = 'LogCorruptError'
  }
}

type Sub = AbstractSublevel<Level<string, unknown>, string | Uint8Array, string, unknown>

const seqKey = (seq: number): string => seq.toString().padStart(12, '0')

/** Ids a record points at; the index under them finds a transaction's records. */
export function referencedIds (record: Envelope): string[] {
  const b = record.body as Record<string, unknown>
  return ['request', 'commitment', 'acceptance', 'settlement'].flatMap(k => typeof b[k] === 'string' ? [b[k] as string] : [])
}

/** Parties a record names, for the by-counterparty index. */
export function namedParties (record: Envelope): string[] {
  const b = record.body as Record<string, unknown>
  const parties = ['requester', 'provider', 'by', 'against', 'meter'].flatMap(k => typeof b[k] === 'string' ? [b[k] as string] : [])
  return [...new Set(parties)]
}

export class RecordLog {
  private readonly entries: Sub
  private readonly index: Sub
  private readonly meta: Sub
  private readonly committer: GroupCommitter
  private readonly tree = new MerkleAccumulator()
  private readonly leafHashes: Uint8Array[] = []
  private readonly sigCounts = new Map<string, number>()
  private headHash = GENESIS

  private constructor (db: NodeDb) {
    this.entries = db.level.sublevel('log', { valueEncoding: 'json' }) as unknown as Sub
    this.index = db.level.sublevel('idx', { valueEncoding: 'json' }) as unknown as Sub
    this.meta = db.level.sublevel('meta', { valueEncoding: 'json' }) as unknown as Sub
    this.committer = db.committer
  }

  /** Opens the log and checks its whole hash chain; a break or a truncation throws LogCorruptError. */
  static async open (db: NodeDb): Promise<RecordLog> {
    const log = new RecordLog(db)
    let expected = 0
    for await (const [key, value] of log.entries.iterator()) {
      const entry = value as LogEntry
      if (key !== seqKey(expected) || entry.seq !== expected) throw new LogCorruptError(`entry ${key} found where entry ${expected} belongs (missing or reordered entries)`)
      if (entry.prev !== log.headHash) throw new LogCorruptError(`entry ${expected} links to ${entry.prev.slice(0, 12)}… but entry ${expected - 1} hashes to ${log.headHash.slice(0, 12)}… (hash chain broken)`)
      log.admit(entry)
      expected++
    }
    const head = await log.meta.get('head') as { size: number, hash: string } | undefined
    if (head === undefined ? expected !== 0 : head.size !== expected || head.hash !== log.headHash) {
      throw new LogCorruptError(`stored head says ${head?.size ?? 0} entries ending in ${head?.hash.slice(0, 12) ?? 'nothing'}…, the log holds ${expected} ending in ${log.headHash.slice(0, 12)}… (truncated or rewritten)`)
    }
    return log
  }

  private admit (entry: LogEntry): Uint8Array {
    const hash = leafHash(canonicalBytes(entry))
    this.leafHashes.push(hash)
    this.tree.append(hash)
    this.headHash = toHex(hash)
    this.sigCounts.set(entry.id, Math.max(this.sigCounts.get(entry.id) ?? 0, entry.record.sigs.length))
    return hash
  }

  get head (): LogHead {
    return { size: this.tree.size, hash: this.headHash, root: toHex(this.tree.root()) }
  }

  /** Leaf hashes of every entry, for inclusion and consistency proofs. */
  get leaves (): readonly Uint8Array[] { return this.leafHashes }

  has (id: string): boolean { return this.sigCounts.has(id) }

  /**
   * Appends a verified record and resolves once it is on disk. Idempotent: a record already
   * logged with as many signatures is not logged again and resolves to undefined.
   */
  append (signed: Verified): Promise<LogEntry | undefined> {
    if (this.committer.failed !== undefined) return Promise.reject(this.committer.failed)
    const known = this.sigCounts.get(signed.id)
    if (known !== undefined && known >= signed.record.sigs.length) return Promise.resolve(undefined)
    const entry: LogEntry = { seq: this.tree.size, prev: this.headHash, kind: known === undefined ? 'record' : 'cosign', id: signed.id, record: signed.record }
    this.admit(entry)
    const key = seqKey(entry.seq)
    const ops: BatchOp[] = [
      { type: 'put', sublevel: this.entries, key, value: entry },
      { type: 'put', sublevel: this.meta, key: 'head', value: { size: entry.seq + 1, hash: this.headHash } },
      { type: 'put', sublevel: this.index, key: `id!${entry.id}!${key}`, value: entry.seq },
      { type: 'put', sublevel: this.index, key: `type!${entry.record.type}!${key}`, value: entry.seq },
      ...referencedIds(entry.record).map(ref => ({ type: 'put' as const, sublevel: this.index, key: `ref!${ref}!${key}`, value: entry.seq })),
      ...namedParties(entry.record).map(p => ({ type: 'put' as const, sublevel: this.index, key: `party!${p}!${key}`, value: entry.seq }))
    ]
    return this.committer.write(ops).then(() => entry)
  }

  async entry (seq: number): Promise<LogEntry | undefined> {
    return await this.entries.get(seqKey(seq)) as LogEntry | undefined
  }

  private async seqsUnder (prefix: string): Promise<number[]> {
    const seqs: number[] = []
    for await (const value of this.index.values({ gt: prefix, lt: prefix + '\xff' })) seqs.push(value as number)
    return seqs
  }

  private async entriesUnder (prefix: string): Promise<LogEntry[]> {
    const seqs = await this.seqsUnder(prefix)
    const found = await this.entries.getMany(seqs.map(seqKey))
    return found as LogEntry[]
  }

  /** The latest (most signed) version of a record. */
  async get<T extends RecordType = RecordType> (id: string): Promise<Verified<T> | undefined> {
    const versions = await this.entriesUnder(`id!${id}!`)
    const last = versions.at(-1)
    return last === undefined ? undefined : { id, record: last.record as Envelope<T> }
  }

  async referencing (id: string): Promise<LogEntry[]> { return await this.entriesUnder(`ref!${id}!`) }
  async ofType (type: RecordType): Promise<LogEntry[]> { return await this.entriesUnder(`type!${type}!`) }
  async naming (party: string): Promise<LogEntry[]> { return await this.entriesUnder(`party!${party}!`) }

  async * all (): AsyncGenerator<LogEntry> {
    for await (const value of this.entries.values()) yield value as LogEntry
  }
}

/** Re-verifies every record signature of a log; the chain itself is checked at open. */
export async function auditLog (log: RecordLog): Promise<{ entries: number, fault?: string }> {
  let entries = 0
  for await (const entry of log.all()) {
    try {
      const v = verifyRecord(entry.record)
      if (v.id !== entry.id) return { entries, fault: `entry ${entry.seq}: id ${entry.id} does not match its record (${v.id})` }
    } catch (err) {
      return { entries, fault: `entry ${entry.seq} (${entry.record.type} ${entry.id}): ${(err as Error).message}` }
    }
    entries++
  }
  return { entries }
}
