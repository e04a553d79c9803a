// Storage faults: a damaged log or LevelDB is refused at open with an error naming the data dir
// and the fault, so the node never signs on top of it; a failed write fails every later one.
//
// What LevelDB (classic-level 3, LevelDB 1.20, default options: no paranoid checks, no read
// checksums) did with each kind of byte damage, observed here:
// - write-ahead log (*.log) truncated: opens without error and silently drops every batch past the
//   cut, the stored head with them (same batch); only the head witness outside LevelDB notices.
// - *.log overwritten mid-file: silently skips the damaged 32 KiB block's batches; the chain
//   (middle) or the witness (tail) notices.
// - table file (*.ldb) truncated: open succeeds, the first read fails LEVEL_IO_ERROR.
// - *.ldb overwritten: LEVEL_CORRUPTION ("corrupted compressed block contents", "bad entry in
//   block") or LEVEL_DECODE_ERROR on read, a changed key or entry (caught by the chain checks), or
//   nothing at all when the bytes land in table metadata LevelDB does not need.
// - *.ldb deleted: open fails LEVEL_CORRUPTION "1 missing files".
// - CURRENT deleted: with createIfMissing LevelDB would create an empty database and delete the
//   old table files; openDb only creates in a new or empty dir, so this is refused.
import { describe, it, expect, afterAll } from 'vitest'
import { mkdtemp, readdir, readFile, rm, stat, truncate, open, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDb, StorageError, readRegister } from '../src/log/db.js'
import { LogCorruptError, RecordLog, type LogEntry } from '../src/log/record-log.js'
import { countersign, recordId, signRecord, type Verified } from '../src/records/envelope.js'
import { generateKeyPair } from '../src/identity/keyfile.js'
import { sampleReading, sampleRequest, sampleSettlement } from './helpers/samples.js'

const requester = generateKeyPair()
const provider = generateKeyPair()
const meter = generateKeyPair()
const WITNESS = 'pairgrid-log-head'
const seqKey = (seq: number): string => seq.toString().padStart(12, '0')

/** A few dozen records of several types, one countersigned (a `cosign` entry). */
function records (): Verified[] {
  const out: Verified[] = []
  for (let i = 0; i < 12; i++) out.push(signRecord('grid.request', { ...sampleRequest(requester.id), nonce: i.toString(16).padStart(32, '0') }, requester))
  for (let i = 0; i < 22; i++) out.push(signRecord('meter.reading', sampleReading(meter.id, i), meter))
  const settlement = signRecord('grid.settlement', sampleSettlement(provider.id, requester.id, meter.id), provider)
  out.push(settlement, countersign(settlement, requester))
  return out
}
const SIZE = records().length

const dirs: string[] = []
afterAll(async () => { await Promise.all(dirs.map(async d => await rm(d, { recursive: true, force: true }))) })

async function makeLog (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pairgrid-storage-'))
  dirs.push(dir)
  const db = await openDb(dir)
  const log = await RecordLog.open(db)
  await Promise.all(records().map(async r => await log.append(r)))
  await db.close()
  return dir
}

/** Opens the db and the log, returns the head size; closes the db either way. */
async function reopen (dir: string): Promise<number> {
  const db = await openDb(dir)
  try {
    return (await RecordLog.open(db)).head.size
  } finally {
    await db.close()
  }
}

/** Edits the raw `log` sublevel (and others) with the plain level API, as damage would. */
async function tamper (dir: string, edit: (subs: { log: Sub, meta: Sub }) => Promise<void>): Promise<void> {
  const db = await openDb(dir)
  const sub = (name: string): Sub => db.level.sublevel(name, { valueEncoding: 'json' }) as unknown as Sub
  try {
    await edit({ log: sub('log'), meta: sub('meta') })
  } finally {
    await db.close()
  }
}
interface Sub {
  get: (key: string) => Promise<unknown>
  put: (key: string, value: unknown) => Promise<void>
  del: (key: string) => Promise<void>
  keys: () => AsyncIterable<string>
}

function bump (e: LogEntry): void {
  (e.record.body as { quantity: { value: number } }).quantity.value += 1
}

async function expectCorrupt (dir: string, fault: RegExp): Promise<void> {
  const err = await reopen(dir).then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(LogCorruptError)
  expect((err as Error).message).toContain(dir)
  expect((err as Error).message).toMatch(fault)
}

/** The newest LevelDB file of a kind (`log` for the write-ahead log, `ldb` for tables). */
async function newest (dir: string, ext: 'log' | 'ldb'): Promise<string> {
  const files = (await readdir(dir)).filter(f => f.endsWith(`.${ext}`)).sort()
  for (const f of files.reverse()) if ((await stat(join(dir, f))).size > 0) return join(dir, f)
  throw new Error(`no non-empty .${ext} file in ${dir}`)
}

async function overwrite (path: string, at: number, length: number): Promise<void> {
  const file = await open(path, 'r+')
  try { await file.write(Buffer.alloc(length, 0xff), 0, length, at) } finally { await file.close() }
}

describe('storage: a damaged log is refused at open', () => {
  it('an intact log reopens with every entry, and its head witness matches', async () => {
    const dir = await makeLog()
    expect(await reopen(dir)).toBe(SIZE)
    expect((await readRegister(dir, WITNESS))?.value).toMatchObject({ size: SIZE })
    const db = await openDb(dir)
    const kinds: string[] = []
    for await (const e of (await RecordLog.open(db)).all()) kinds.push(e.kind)
    await db.close()
    expect(kinds.filter(k => k === 'cosign')).toHaveLength(1)
  })

  it('lookups by transaction, type and party give the same entries before and after a reopen (index rebuilt at open)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pairgrid-storage-'))
    dirs.push(dir)
    const all = records()
    const settlement = all.at(-1)!
    const queries = [
      { tx: settlement.id }, { type: 'grid.request' }, { party: meter.id }, { party: requester.id, type: 'grid.settlement' },
      { tx: all[0]!.id }, { type: 'grid.request', party: provider.id }, {}
    ]
    const answers = async (log: RecordLog): Promise<number[][]> => await Promise.all(queries.map(async q => (await log.select(q, 1000)).map(e => e.seq)))
    let db = await openDb(dir)
    const log = await RecordLog.open(db)
    for (const r of all) await log.append(r)
    const before = await answers(log)
    await db.close()
    db = await openDb(dir)
    const reopened = await RecordLog.open(db)
    const after = await answers(reopened)
    const limited = (await reopened.select({ type: 'meter.reading' }, 5)).map(e => e.seq)
    await db.close()
    expect(after).toEqual(before)
    // What each lookup must find, from the records themselves.
    expect(before[0]).toEqual([SIZE - 2, SIZE - 1]) // the settlement and its countersigned version
    expect(before[1]).toEqual([...Array(12).keys()])
    expect(before[2]).toEqual([...Array(22).keys()].map(i => 12 + i)) // the readings (a settlement names the meter only inside its metering)
    expect(before[3]).toEqual([SIZE - 2, SIZE - 1])
    expect(before[4]).toEqual([0])
    expect(before[5]).toEqual([])
    expect(before[6]).toEqual([...Array(SIZE).keys()])
    expect(limited).toEqual([12, 13, 14, 15, 16])
  })

  it('an entry deleted in the middle', async () => {
    const dir = await makeLog()
    await tamper(dir, async ({ log }) => { await log.del(seqKey(10)) })
    await expectCorrupt(dir, /entry 000000000011 found where entry 10 belongs \(missing or reordered entries\)/)
  })

  it('an entry changed outside its record id (a signature): the next entry no longer links to it', async () => {
    const dir = await makeLog()
    await tamper(dir, async ({ log }) => {
      const e = await log.get(seqKey(5)) as LogEntry
      e.record.sigs[0]!.sig = 'A'.repeat(86)
      await log.put(seqKey(5), e)
    })
    await expectCorrupt(dir, /entry 6 links to [0-9a-f]{12}… but entry 5 hashes to [0-9a-f]{12}… \(hash chain broken\)/)
  })

  it('a record field changed, with or without its id rewritten to match', async () => {
    const dir = await makeLog()
    await tamper(dir, async ({ log }) => {
      const e = await log.get(seqKey(3)) as LogEntry
      bump(e)
      await log.put(seqKey(3), e)
    })
    await expectCorrupt(dir, /entry 3 claims id [0-9a-f]{64} but its record hashes to [0-9a-f]{64} \(record altered or swapped\)/)

    const dir2 = await makeLog()
    await tamper(dir2, async ({ log }) => {
      const e = await log.get(seqKey(3)) as LogEntry
      bump(e)
      e.id = recordId(e.record)
      await log.put(seqKey(3), e)
    })
    await expectCorrupt(dir2, /entry 4 links to .* \(hash chain broken\)/)
  })

  it('an entry whose id does not match its record (another record swapped in)', async () => {
    const dir = await makeLog()
    await tamper(dir, async ({ log }) => {
      const e = await log.get(seqKey(5)) as LogEntry
      e.record = (await log.get(seqKey(7)) as LogEntry).record
      await log.put(seqKey(5), e)
    })
    await expectCorrupt(dir, /entry 5 claims id .* \(record altered or swapped\)/)
  })

  it('reordered entries', async () => {
    const dir = await makeLog()
    await tamper(dir, async ({ log }) => {
      const [a, b] = [await log.get(seqKey(8)), await log.get(seqKey(9))]
      await log.put(seqKey(8), b)
      await log.put(seqKey(9), a)
    })
    await expectCorrupt(dir, /entry 8 holds entry 9 \(reordered or copied entries\)/)
  })

  it('entries deleted at the end: the stored head says more', async () => {
    const dir = await makeLog()
    await tamper(dir, async ({ log }) => { for (const s of [SIZE - 1, SIZE - 2, SIZE - 3]) await log.del(seqKey(s)) })
    await expectCorrupt(dir, new RegExp(`stored head says ${SIZE} entries ending in .*, the log holds ${SIZE - 3} .*\\(truncated or rewritten\\)`))
  })

  it('entries deleted at the end with the stored head rewritten to match: the witness says more', async () => {
    const dir = await makeLog()
    await tamper(dir, async ({ log, meta }) => {
      const cut = SIZE - 3
      const hash = (await log.get(seqKey(cut)) as LogEntry).prev
      for (let s = cut; s < SIZE; s++) await log.del(seqKey(s))
      await meta.put('head', { size: cut, hash })
    })
    await expectCorrupt(dir, new RegExp(`the log holds ${SIZE - 3} entries but had reached ${SIZE} .*acknowledged entries lost from its end`))
  })

  it('the stored head deleted', async () => {
    const dir = await makeLog()
    await tamper(dir, async ({ meta }) => { await meta.del('head') })
    await expectCorrupt(dir, /stored head says nothing \(missing\), the log holds/)
  })

  it('the head witness deleted', async () => {
    const dir = await makeLog()
    await rm(join(dir, WITNESS))
    await expectCorrupt(dir, /head witness pairgrid-log-head is missing while the log holds/)
  })

  it('a log from before head witnesses gets one at its first open', async () => {
    const dir = await makeLog()
    await rm(join(dir, WITNESS))
    await tamper(dir, async ({ meta }) => { await meta.del('witnessed') })
    expect(await reopen(dir)).toBe(SIZE)
    expect((await readRegister(dir, WITNESS))?.value).toMatchObject({ size: SIZE })
    await rm(join(dir, WITNESS))
    await expectCorrupt(dir, /head witness pairgrid-log-head is missing/)
  })

  it('a witness that lags (crash between the batch and the witness) is brought up to date, not refused', async () => {
    const dir = await makeLog()
    const before = await readFile(join(dir, WITNESS))
    const db = await openDb(dir)
    const log = await RecordLog.open(db)
    for (let i = 100; i < 105; i++) await log.append(signRecord('meter.reading', sampleReading(meter.id, i), meter))
    await db.close()
    await writeFile(join(dir, WITNESS), before)
    expect(await reopen(dir)).toBe(SIZE + 5)
    expect((await readRegister(dir, WITNESS))?.value).toMatchObject({ size: SIZE + 5 })
  })

  it('a torn witness write falls back to the other slot', async () => {
    const dir = await makeLog()
    const { n } = (await readRegister(dir, WITNESS))!
    await overwrite(join(dir, WITNESS), (n % 2) * 256 + 100, 20)
    const older = await readRegister(dir, WITNESS)
    expect(older?.n).toBe(n - 1)
    expect(await reopen(dir)).toBe(SIZE)
  })

  it('after a failed open nothing is written: the same fault is reported again', async () => {
    const dir = await makeLog()
    await tamper(dir, async ({ log }) => { await log.del(seqKey(20)) })
    const witness = await readFile(join(dir, WITNESS))
    const first = await reopen(dir).catch((e: Error) => e.message)
    const second = await reopen(dir).catch((e: Error) => e.message)
    expect(first).toMatch(/log corrupt in .*entry 000000000021 found where entry 20 belongs/)
    expect(second).toBe(first)
    expect(await readFile(join(dir, WITNESS))).toEqual(witness)
  })
})

describe('storage: byte-level damage to the LevelDB files', () => {
  it('write-ahead log truncated: LevelDB drops the tail silently, the witness catches it', async () => {
    const dir = await makeLog()
    const wal = await newest(dir, 'log')
    await truncate(wal, Math.floor((await stat(wal)).size / 2))
    await expectCorrupt(dir, new RegExp(`the log holds \\d+ entries but had reached ${SIZE} \\(pairgrid-log-head\\): acknowledged entries lost from its end \\(LevelDB files truncated or damaged\\)`))
  })

  it('write-ahead log overwritten in the middle or near the end: LevelDB skips the block, the chain or witness catches it', async () => {
    for (const frac of [0.1, 0.5, 0.95]) {
      const dir = await makeLog()
      const wal = await newest(dir, 'log')
      await overwrite(wal, Math.floor((await stat(wal)).size * frac), 16)
      await expectCorrupt(dir, /missing or reordered entries|acknowledged entries lost from its end/)
    }
  })

  it('table file (*.ldb) truncated or overwritten: refused naming the data dir, or read back intact', async () => {
    const damages: Array<[string, (path: string, size: number) => Promise<void>]> = [
      ['truncated to half', async (p, size) => { await truncate(p, Math.floor(size / 2)) }],
      ['truncated to zero', async (p) => { await truncate(p, 0) }],
      ...[0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.98].map((f): [string, (p: string, size: number) => Promise<void>] => [`overwritten at ${f}`, async (p, size) => { await overwrite(p, Math.floor(size * f), 16) }])
    ]
    for (const [what, damage] of damages) {
      const dir = await makeLog()
      expect(await reopen(dir)).toBe(SIZE) // reopening moves the write-ahead log into a table file
      const table = await newest(dir, 'ldb')
      await damage(table, (await stat(table)).size)
      const outcome = await reopen(dir).then(size => size, (e: Error) => e)
      if (typeof outcome === 'number') {
        // The bytes hit table metadata LevelDB does not need: every entry and the head checked out.
        expect(outcome, what).toBe(SIZE)
      } else {
        expect([LogCorruptError, StorageError].some(t => outcome instanceof t), `${what}: ${outcome.message}`).toBe(true)
        expect(outcome.message, what).toContain(dir)
      }
    }
  })

  it('table file truncated: LevelDB fails the read with LEVEL_IO_ERROR, reported as a corrupt log', async () => {
    const dir = await makeLog()
    await reopen(dir)
    const table = await newest(dir, 'ldb')
    await truncate(table, Math.floor((await stat(table)).size / 2))
    await expectCorrupt(dir, /LevelDB cannot read it \(LEVEL_IO_ERROR\)/)
  })

  it('table file deleted: refused at openDb with LEVEL_CORRUPTION', async () => {
    const dir = await makeLog()
    await reopen(dir)
    await rm(await newest(dir, 'ldb'))
    const err = await openDb(dir).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(err).toMatchObject({ code: 'LEVEL_CORRUPTION', dir })
    expect((err as Error).message).toMatch(/cannot open the LevelDB at .*missing files/)
  })

  it('CURRENT deleted: refused, and the table files are left alone (LevelDB would recreate an empty db)', async () => {
    const dir = await makeLog()
    await reopen(dir)
    const table = await newest(dir, 'ldb')
    await rm(join(dir, 'CURRENT'))
    const err = await openDb(dir).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect((err as Error).message).toMatch(/cannot open the LevelDB at .*refusing to create an empty one over them/)
    expect((await stat(table)).size).toBeGreaterThan(0)
  })

  it('a data dir in use by another open: LEVEL_LOCKED, with a hint', async () => {
    const dir = await makeLog()
    const db = await openDb(dir)
    try {
      await expect(openDb(dir)).rejects.toMatchObject({ name: 'StorageError', code: 'LEVEL_LOCKED', message: expect.stringMatching(/another pairgrid process/) })
    } finally {
      await db.close()
    }
  })
})

describe('storage: a failed write fails every later one', () => {
  it('GroupCommitter: once a batch fails (db closed under it), every later write and append rejects', async () => {
    const dir = await makeLog()
    const db = await openDb(dir)
    const log = await RecordLog.open(db)
    await db.level.close()
    const next = (i: number): Verified => signRecord('meter.reading', sampleReading(meter.id, 1000 + i), meter)
    await expect(log.append(next(0))).rejects.toThrow(/durable write failed/)
    expect(db.committer.failed).toBeInstanceOf(Error)
    await expect(db.committer.write([])).rejects.toBe(db.committer.failed)
    await expect(log.append(next(1))).rejects.toBe(db.committer.failed)
    // Only what was acknowledged is on disk.
    expect(await reopen(dir)).toBe(SIZE)
  })

  it('a failed witness write fails every later append (the one it followed is in LevelDB already)', async () => {
    const dir = await makeLog()
    const db = await openDb(dir)
    const log = await RecordLog.open(db)
    await rm(join(dir, WITNESS))
    await mkdir(join(dir, WITNESS)) // the witness can no longer be written
    try {
      const first = await log.append(signRecord('meter.reading', sampleReading(meter.id, 2000), meter))
      expect(first?.seq).toBe(SIZE)
      // The witness write behind it fails; from then on nothing more is acknowledged.
      let later: unknown
      for (let i = 0; i < 100 && later === undefined; i++) {
        await new Promise(resolve => setTimeout(resolve, 10))
        later = await log.append(signRecord('meter.reading', sampleReading(meter.id, 2001 + i), meter)).then(() => undefined, (err: Error) => err)
      }
      expect((later as Error).message).toMatch(/durable write failed: cannot write pairgrid-log-head in/)
    } finally {
      await db.close()
    }
  })

  it('a clean close leaves the witness at the log\'s head', async () => {
    const dir = await makeLog()
    const db = await openDb(dir)
    const log = await RecordLog.open(db)
    await Promise.all(Array.from({ length: 50 }, async (_, i) => await log.append(signRecord('meter.reading', sampleReading(meter.id, 3000 + i), meter))))
    const head = log.head
    await db.close()
    expect((await readRegister(dir, WITNESS))?.value).toEqual({ size: head.size, hash: head.hash })
  })
})
