// The append-only, hash-chained record log. Entry i carries the leaf hash of entry i-1; the same
// leaf hashes form the RFC 9162 tree whose root a checkpoint signs. A record appears once as
// `record`; a later version with more signatures (a countersign) appears once more as `cosign`.
// LevelDB cannot tell a write-ahead log truncated after the fact from a write torn by a crash:
// it drops the tail silently, stored head included (same batch). So the head is also kept in a
// witness file beside LevelDB, written after each batch is on disk (in the background: an
// acknowledged entry is in LevelDB's synced log; the witness may lag it, never lead it).
// Each entry is stored as its canonical JSON (the bytes its leaf hash covers, so encoded once),
// with one head per batch; lookups go through an in-memory index (log-index.ts).
import type { AbstractSublevel } from 'abstract-level'
import type { Level } from 'level'
import { canonicalize } from '../records/canonical.js'
import { toHex } from '../records/bytes.js'
import { recordId, verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import { encodeLeaf, MerkleTree } from './merkle.js'
import type { BatchOp, GroupCommitter } from './group-commit.js'
import { readRegister, type NodeDb, type Register, type RegisterWriter } from './db.js'
import { LogIndex, type LogQuery } from './log-index.js'

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

/** An entry's canonical JSON; with the record's canonical JSON at hand, without re-encoding it (keys sort id, kind, prev, record, seq). */
function entryText (entry: LogEntry, recordText?: string): string {
  if (recordText === undefined) return canonicalize(entry)
  // id and prev are hex and kind a fixed word: nothing in them needs escaping.
  return `{"id":"${entry.id}","kind":"${entry.kind}","prev":"${entry.prev}","record":${recordText},"seq":${entry.seq}}`
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
  private readonly meta: Sub
  private readonly index = new LogIndex()
  private readonly committer: GroupCommitter
  /** The RFC 9162 tree over the entries' leaf hashes, for checkpoints and proofs at any size. */
  readonly tree = new MerkleTree()
  private readonly sigCounts = new Map<string, number>()
  private headHash = GENESIS
  /** Size of the longest prefix known durable in LevelDB. */
  private durable = 0
  /** Head size last handed to a batch: each batch carries at most one head put. */
  private queuedHead = 0
  private witnessed = -1
  private readonly witnessFile: RegisterWriter
  private witnessWrite: Promise<void> | undefined
  private failure: Error | undefined

  private constructor (private readonly db: NodeDb) {
    this.entries = db.level.sublevel('log', { valueEncoding: 'json' }) as unknown as Sub
    this.meta = db.level.sublevel('meta', { valueEncoding: 'json' }) as unknown as Sub
    this.committer = db.committer
    this.witnessFile = db.register(WITNESS)
    // Runs as each batch is formed: every entry admitted so far is in it or an earlier batch.
    this.committer.onGroup(() => {
      if (this.tree.size === this.queuedHead) return []
      this.queuedHead = this.tree.size
      return [{ type: 'put', sublevel: this.meta, key: 'head', value: { size: this.tree.size, hash: this.headHash } }]
    })
  }

  /**
   * Opens the log and checks it whole: the hash chain, every entry's id against its record, the
   * stored head and the witness. Any fault throws LogCorruptError naming it.
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
    // A clean close leaves the witness at the log's head (only a log that opened: a failed open writes nothing).
    db.beforeClose(async () => { await log.witness(log.durable).catch(() => {}) })
    return log
  }

  private corrupt (message: string): LogCorruptError { return new LogCorruptError(this.db.dir, message) }

  private async check (): Promise<void> {
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
      expected++
    }
    const head = await this.meta.get('head')
    if (head === undefined ? expected !== 0 : !isStoredHead(head) || head.size !== expected || head.hash !== this.headHash) {
      const said = isStoredHead(head) ? `${head.size} entries ending in ${head.hash.slice(0, 12)}…` : head === undefined ? 'nothing (missing)' : 'no valid head'
      throw this.corrupt(`stored head says ${said}, the log holds ${expected} ending in ${this.headHash.slice(0, 12)}… (truncated or rewritten)`)
    }
    await this.checkWitness()
    this.queuedHead = expected
    // All checked: bring a lagging witness up to the log, then flag that this log has one.
    this.durable = expected
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
    if (witness.size > 0 && toHex(this.tree.leaves[witness.size - 1]!) !== witness.hash) throw this.corrupt(`entry ${witness.size - 1} does not hash to what ${WITNESS} recorded (rewritten)`)
    this.witnessFile.resume(stored.n)
    this.witnessed = witness.size
  }

  /** Resolves once the witness holds at least `size`. */
  private async witness (size: number): Promise<void> {
    while (this.witnessed < size) await this.witnessDurable()
  }

  /** Starts bringing the witness up to the durable head unless a write is under way (it will). */
  private witnessDurable (): Promise<void> {
    if (this.witnessWrite === undefined) {
      this.witnessWrite = this.writeWitness()
      // Failure is kept in `this.failure` and fails later appends; callers who wait see it too.
      this.witnessWrite.catch(() => {})
    }
    return this.witnessWrite
  }

  /** Writes the durable head until the witness holds it, heads acknowledged meanwhile included. */
  private async writeWitness (): Promise<void> {
    try {
      while (this.witnessed < this.durable) {
        const size = this.durable
        await this.witnessFile.write({ size, hash: size === 0 ? GENESIS : toHex(this.tree.leaves[size - 1]!) } satisfies StoredHead)
        this.witnessed = size
      }
    } catch (err) {
      this.failure ??= new Error(`durable write failed: cannot write ${WITNESS} in ${this.db.dir}: ${(err as Error).message}`)
      throw this.failure
    } finally {
      this.witnessWrite = undefined
    }
  }

  /** Takes an entry into the chain, tree and index; returns its canonical bytes. */
  private admit (entry: LogEntry, recordText?: string): Uint8Array {
    const { bytes, hash, hex } = encodeLeaf(entryText(entry, recordText))
    this.tree.append(hash)
    this.headHash = hex
    this.sigCounts.set(entry.id, Math.max(this.sigCounts.get(entry.id) ?? 0, entry.record.sigs.length))
    this.index.add(entry.seq, entry.id, entry.record)
    return bytes
  }

  get head (): LogHead {
    return { size: this.tree.size, hash: this.headHash, root: toHex(this.tree.root()) }
  }

  has (id: string): boolean { return this.sigCounts.has(id) }

  /**
   * Appends a verified record and resolves once it is on disk (LevelDB, synced). Idempotent:
   * a record already logged with as many signatures is not logged again and resolves to undefined.
   */
  append (signed: Verified): Promise<LogEntry | undefined> {
    const failed = this.committer.failed ?? this.failure
    if (failed !== undefined) return Promise.reject(failed)
    const known = this.sigCounts.get(signed.id)
    if (known !== undefined && known >= signed.record.sigs.length) return Promise.resolve(undefined)
    const entry: LogEntry = { seq: this.tree.size, prev: this.headHash, kind: known === undefined ? 'record' : 'cosign', id: signed.id, record: signed.record }
    const bytes = this.admit(entry, signed.canonical)
    // Stored as its canonical JSON, read back by the sublevel's JSON decoding; the key carries the
    // sublevel's prefix already (cheaper than delegating the op to the sublevel).
    const ops: BatchOp[] = [{ type: 'put', key: this.entries.prefixKey(seqKey(entry.seq), 'utf8'), value: bytes, valueEncoding: 'view' } as BatchOp]
    return this.committer.write(ops).then(() => {
      // Batches resolve in order: this head and every one before it are on disk.
      if (entry.seq >= this.durable) {
        this.durable = entry.seq + 1
        // The witness follows in the background: it may lag the log, never lead it. Waiting for
        // its fsync doubled the latency of every durable step; a failed write fails every later append.
        void this.witnessDurable()
      }
      return entry
    })
  }

  async entry (seq: number): Promise<LogEntry | undefined> {
    return await this.entries.get(seqKey(seq)) as LogEntry | undefined
  }

  /** The first `limit` entries matching every given filter (all entries when none is given), in log order. */
  async select (query: LogQuery, limit: number): Promise<LogEntry[]> {
    const seqs = this.index.select(query, this.tree.size, limit)
    return await this.entries.getMany(seqs.map(seqKey)) as LogEntry[]
  }

  async * all (): AsyncGenerator<LogEntry> {
    for await (const value of this.entries.values()) yield value as LogEntry
  }
}

/** Re-verifies every record signature of a log; the chain itself is checked at open. */
export async function auditLog (log: RecordLog): Promise<{ entries: number, fault?: string }> {
  let entries = 0
  for await (const entry of log.all()) {
    try {
      const v = verifyRecord(entry.record, undefined, { fresh: true })
      if (v.id !== entry.id) return { entries, fault: `entry ${entry.seq}: id ${entry.id} does not match its record (${v.id})` }
    } catch (err) {
      return { entries, fault: `entry ${entry.seq} (${entry.record.type} ${entry.id}): ${(err as Error).message}` }
    }
    entries++
  }
  return { entries }
}
