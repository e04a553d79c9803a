// The append-only, hash-chained record log. Entry i carries the leaf hash of entry i-1; the same
// leaf hashes form the RFC 9162 tree whose root a checkpoint signs. A record appears once as
// `record`; a later version with more signatures (a countersign) appears once more as `cosign`.
// LevelDB cannot tell a write-ahead log truncated after the fact from a write torn by a crash:
// it drops the tail silently, stored head included (same batch). So the head is also kept in a
// witness file beside LevelDB, written once the batch is on disk and before the append resolves.
import type { AbstractSublevel } from 'abstract-level'
import type { Level } from 'level'
import { canonicalBytes } from '../records/canonical.js'
import { toHex } from '../records/bytes.js'
import { recordId, verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import type { RecordType } from '../records/registry.js'
import { leafHash, MerkleAccumulator } from './merkle.js'
import type { BatchOp, GroupCommitter } from './group-commit.js'
import { readRegister, writeRegister, type NodeDb, type Register } from './db.js'

export const GENESIS = '0'.repeat(64)

export interface LogEntry {
  seq: number
  prev: string
  kind: 'record' | 'cosign'
  id: string
  record: Envelope
}

export interface LogHead { size: number, hash: string, root: string }

/** The log's content is damaged; `dir` is the LevelDB directory. The node must not sign on top. */
export class LogCorruptError extends Error {
  constructor (readonly dir: string, message: string) {
    super(`log corrupt in ${dir}: ${message}`)
    this.name = 'LogCorruptError'
  }
}

type Sub = AbstractSublevel<Level<string, unknown>, string | Uint8Array, string, unknown>
interface StoredHead { size: number, hash: string }

const seqKey = (seq: number): string => seq.toString().padStart(12, '0')
const WITNESS = 'pairgrid-log-head'

/** Ids a record points at; the index under them finds a transaction's records. */
export function referencedIds (record: Envelope): string[] {
  const b = record.body as Record<string, unknown>
  return ['request', 'commitment', 'acceptance', 'settlement', 'offer', 'certificate'].flatMap(k => typeof b[k] === 'string' ? [b[k] as string] : [])
}

/** Parties a record names, for the by-counterparty index. */
export function namedParties (record: Envelope): string[] {
  const b = record.body as Record<string, unknown>
  const parties = ['requester', 'provider', 'by', 'against', 'meter', 'producer', 'buyer'].flatMap(k => typeof b[k] === 'string' ? [b[k] as string] : [])
  return [...new Set(parties)]
}

/** The index keys of an entry (each maps to its seq), deduplicated so the open-time digest can count them. */
export function indexKeys (entry: LogEntry): string[] {
  const key = seqKey(entry.seq)
  return [...new Set([
    `id!${entry.id}!${key}`,
    `type!${entry.record.type}!${key}`,
    ...referencedIds(entry.record).map(ref => `ref!${ref}!${key}`),
    ...namedParties(entry.record).map(p => `party!${p}!${key}`)
  ])]
}

/**
 * Order-independent digest of index entries: sums of two 32-bit string hashes, and a count. It
 * guards against damage, not forgery (whoever can write the files can rewrite everything), and
 * a hash in plain JS costs a tenth of a SHA-256 call on every index entry at every start.
 */
class IndexDigest {
  count = 0
  private a = 0
  private b = 0
  add (key: string, seq: unknown): void {
    const text = `${key}\0${JSON.stringify(seq)}`
    let a = 0x811c9dc5
    let b = 0x9747b28c
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x5bd1e995)
    }
    this.a = (this.a + a) >>> 0
    this.b = (this.b + b) >>> 0
    this.count++
  }

  equals (other: IndexDigest): boolean { return this.count === other.count && this.a === other.a && this.b === other.b }
}

function isEntry (value: unknown): value is LogEntry {
  const e = value as Partial<LogEntry> | null
  return typeof e === 'object' && e !== null && typeof e.seq === 'number' && typeof e.prev === 'string' &&
    (e.kind === 'record' || e.kind === 'cosign') && typeof e.id === 'string' && typeof e.record === 'object' && e.record !== null &&
    typeof e.record.type === 'string' && typeof e.record.body === 'object' && e.record.body !== null && Array.isArray(e.record.sigs)
}

function isStoredHead (value: unknown): value is StoredHead {
  const h = value as Partial<StoredHead> | null
  return typeof h === 'object' && h !== null && Number.isSafeInteger(h.size) && typeof h.hash === 'string'
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
  /** Highest head known durable in LevelDB, and the size the witness file holds. */
  private durable: StoredHead = { size: 0, hash: GENESIS }
  private witnessed = -1
  private witnessN = 0
  private witnessWrite: Promise<void> | undefined
  private failure: Error | undefined

  private constructor (private readonly db: NodeDb) {
    this.entries = db.level.sublevel('log', { valueEncoding: 'json' }) as unknown as Sub
    this.index = db.level.sublevel('idx', { valueEncoding: 'json' }) as unknown as Sub
    this.meta = db.level.sublevel('meta', { valueEncoding: 'json' }) as unknown as Sub
    this.committer = db.committer
  }

  /**
   * Opens the log and checks it whole: the hash chain, every entry's id against its record, the
   * indexes, the stored head and the witness. Any fault throws LogCorruptError naming it.
   * Signatures are not verified here (auditLog, `pairgrid verify --data`).
   */
  static async open (db: NodeDb): Promise<RecordLog> {
    const log = new RecordLog(db)
    try {
      await log.check()
    } catch (err) {
      if (err instanceof LogCorruptError) throw err
      const code = (err as { code?: unknown }).code
      // LevelDB reads no checksums by default: damage it notices surfaces as a read or decode error.
      if (typeof code === 'string' && code.startsWith('LEVEL_')) throw new LogCorruptError(db.dir, `LevelDB cannot read it (${code}): ${(err as Error).message}`)
      throw new Error(`cannot open the log in ${db.dir}: ${(err as Error).message}`)
    }
    return log
  }

  private corrupt (message: string): LogCorruptError { return new LogCorruptError(this.db.dir, message) }

  private async check (): Promise<void> {
    const expectedIndex = new IndexDigest()
    let expected = 0
    for await (const [key, value] of this.entries.iterator()) {
      if (!isEntry(value)) throw this.corrupt(`entry ${key} is not a log entry`)
      if (key !== seqKey(expected)) throw this.corrupt(`entry ${key} found where entry ${expected} belongs (missing or reordered entries)`)
      if (value.seq !== expected) throw this.corrupt(`entry ${expected} holds entry ${value.seq} (reordered or copied entries)`)
      if (value.prev !== this.headHash) throw this.corrupt(`entry ${expected} links to ${value.prev.slice(0, 12)}… but ${expected === 0 ? 'the chain starts at' : `entry ${expected - 1} hashes to`} ${this.headHash.slice(0, 12)}… (hash chain broken)`)
      try {
        const id = recordId(value.record)
        if (id !== value.id) throw this.corrupt(`entry ${expected} claims id ${value.id} but its record hashes to ${id} (record altered or swapped)`)
        this.admit(value)
      } catch (err) {
        throw err instanceof LogCorruptError ? err : this.corrupt(`entry ${expected} cannot be hashed: ${(err as Error).message}`)
      }
      for (const k of indexKeys(value)) expectedIndex.add(k, expected)
      expected++
    }
    const head = await this.meta.get('head')
    if (head === undefined ? expected !== 0 : !isStoredHead(head) || head.size !== expected || head.hash !== this.headHash) {
      const said = isStoredHead(head) ? `${head.size} entries ending in ${head.hash.slice(0, 12)}…` : head === undefined ? 'nothing (missing)' : 'no valid head'
      throw this.corrupt(`stored head says ${said}, the log holds ${expected} ending in ${this.headHash.slice(0, 12)}… (truncated or rewritten)`)
    }
    await this.checkWitness()
    const storedIndex = new IndexDigest()
    for await (const [key, seq] of this.index.iterator()) storedIndex.add(key, seq)
    if (!storedIndex.equals(expectedIndex)) throw this.corrupt(`the index holds ${storedIndex.count} entries, the log implies ${expectedIndex.count}${storedIndex.count === expectedIndex.count ? ' with different keys' : ''} (index damaged or rewritten)`)
    // All checked: bring a lagging witness up to the log, then flag that this log has one.
    this.durable = { size: expected, hash: this.headHash }
    await this.witness(expected)
    if (await this.meta.get('witnessed') !== true) await this.committer.write([{ type: 'put', sublevel: this.meta, key: 'witnessed', value: true }])
  }

  /** The witness may lag the log (a crash between the batch and the witness), never lead it. */
  private async checkWitness (): Promise<void> {
    const size = this.tree.size
    let stored: Register | undefined
    try {
      stored = await readRegister(this.db.dir, WITNESS)
    } catch (err) {
      throw this.corrupt(`the head witness ${WITNESS} is unreadable: ${(err as Error).message}`)
    }
    if (stored === undefined) {
      // A log from before witnesses has no flag and gets its first witness now.
      if (await this.meta.get('witnessed') === true) throw this.corrupt(`the head witness ${WITNESS} is missing while the log holds ${size} entries (deleted?)`)
      return
    }
    const witness = stored.value
    if (!isStoredHead(witness)) throw this.corrupt(`the head witness ${WITNESS} does not hold a log head`)
    if (witness.size > size) throw this.corrupt(`the log holds ${size} entries but had reached ${witness.size} (${WITNESS}): acknowledged entries lost from its end (LevelDB files truncated or damaged)`)
    if (witness.size > 0 && toHex(this.leafHashes[witness.size - 1]!) !== witness.hash) throw this.corrupt(`entry ${witness.size - 1} does not hash to what ${WITNESS} recorded (rewritten)`)
    this.witnessN = stored.n
    this.witnessed = witness.size
  }

  /** Resolves once the witness holds at least `size`; concurrent callers share one write. */
  private async witness (size: number): Promise<void> {
    while (this.witnessed < size) {
      this.witnessWrite ??= this.writeWitness()
      await this.witnessWrite
    }
  }

  private async writeWitness (): Promise<void> {
    const head = this.durable
    try {
      await writeRegister(this.db.dir, WITNESS, ++this.witnessN, head)
      this.witnessed = head.size
    } catch (err) {
      this.failure ??= new Error(`durable write failed: cannot write ${WITNESS} in ${this.db.dir}: ${(err as Error).message}`)
      throw this.failure
    } finally {
      this.witnessWrite = undefined
    }
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
   * Appends a verified record and resolves once it is on disk (LevelDB and witness). Idempotent:
   * a record already logged with as many signatures is not logged again and resolves to undefined.
   */
  append (signed: Verified): Promise<LogEntry | undefined> {
    const failed = this.committer.failed ?? this.failure
    if (failed !== undefined) return Promise.reject(failed)
    const known = this.sigCounts.get(signed.id)
    if (known !== undefined && known >= signed.record.sigs.length) return Promise.resolve(undefined)
    const entry: LogEntry = { seq: this.tree.size, prev: this.headHash, kind: known === undefined ? 'record' : 'cosign', id: signed.id, record: signed.record }
    this.admit(entry)
    const head = { size: entry.seq + 1, hash: this.headHash }
    const ops: BatchOp[] = [
      { type: 'put', sublevel: this.entries, key: seqKey(entry.seq), value: entry },
      { type: 'put', sublevel: this.meta, key: 'head', value: head },
      ...indexKeys(entry).map(key => ({ type: 'put' as const, sublevel: this.index, key, value: entry.seq }))
    ]
    return this.committer.write(ops).then(async () => {
      // Batches resolve in order: this head and every one before it are on disk.
      if (head.size > this.durable.size) this.durable = head
      await this.witness(head.size)
      return entry
    })
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
