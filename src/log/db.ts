// One LevelDB per node. Sublevels keep the log, its indexes, meter readings and node state apart.
import { Level } from 'level'
import { open, readdir, readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256Hex } from '../records/bytes.js'
import { GroupCommitter } from './group-commit.js'

export interface NodeDb {
  /** The LevelDB directory: every storage error names it. */
  dir: string
  level: Level<string, unknown>
  committer: GroupCommitter
  /** A register file in the LevelDB dir, kept open until close. */
  register: (name: string) => RegisterWriter
  /** Runs `hook` at close, after the last batch and before the registers close. */
  beforeClose: (hook: () => Promise<void>) => void
  close: () => Promise<void>
}

/** The LevelDB could not be opened; `code` is LevelDB's (LEVEL_CORRUPTION, LEVEL_LOCKED, ...). */
export class StorageError extends Error {
  constructor (readonly dir: string, readonly code: string, detail: string) {
    super(`cannot open the LevelDB at ${dir}: ${detail}`)
    this.name = 'StorageError'
  }
}

async function isNewDir (dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true
    throw new StorageError(dir, (err as NodeJS.ErrnoException).code ?? 'EIO', (err as Error).message)
  }
}

export async function openDb (dir: string): Promise<NodeDb> {
  // Given a dir whose CURRENT file is gone, LevelDB would create an empty database and delete
  // the old table files: only a new or empty dir may be created.
  const createIfMissing = await isNewDir(dir)
  const level = new Level<string, unknown>(dir, { valueEncoding: 'json', createIfMissing })
  try {
    await level.open()
  } catch (err) {
    const cause = (err as { cause?: Error & { code?: string } }).cause ?? err as Error & { code?: string }
    const code = cause.code ?? 'LEVEL_DATABASE_NOT_OPEN'
    const hint = code === 'LEVEL_LOCKED'
      ? ' (is another pairgrid process using this data dir?)'
      : createIfMissing ? '' : ' (the directory holds files but no openable database: refusing to create an empty one over them)'
    throw new StorageError(dir, code, `${cause.message}${hint}`)
  }
  const committer = new GroupCommitter(level)
  const registers: RegisterWriter[] = []
  const hooks: Array<() => Promise<void>> = []
  return {
    dir,
    level,
    committer,
    register: (name) => {
      const r = new RegisterWriter(dir, name)
      registers.push(r)
      return r
    },
    beforeClose: (hook) => { hooks.push(hook) },
    close: async () => {
      await committer.drain().catch(() => {})
      for (const hook of hooks) await hook()
      await Promise.all(registers.map(async r => await r.close()))
      await level.close()
    }
  }
}

// A register: a tiny JSON value kept in the LevelDB dir (LevelDB ignores names it did not make),
// so a copy of the dir carries it. Two fixed-size slots are written alternately in place and
// fdatasynced (a fifth of the cost of write-and-rename); a write torn by a crash spoils one slot
// and the other still holds the previous value.
const SLOT = 256

export interface Register { n: number, value: unknown }

function parseSlot (bytes: Buffer): Register | undefined {
  const text = bytes.toString('utf8').trimEnd()
  const space = text.indexOf(' ')
  const payload = text.slice(space + 1)
  if (space < 0 || sha256Hex(payload) !== text.slice(0, space)) return undefined
  // The checksum matched, so the payload is the JSON this module wrote.
  const parsed = JSON.parse(payload) as Register
  return { n: parsed.n, value: parsed.value }
}

/** The newest intact slot of a register; undefined when the file is absent. */
export async function readRegister (dir: string, name: string): Promise<Register | undefined> {
  let bytes: Buffer
  try {
    bytes = await readFile(join(dir, name))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const slots = [0, 1].flatMap(i => parseSlot(bytes.subarray(i * SLOT, (i + 1) * SLOT)) ?? [])
  if (slots.length === 0) throw new Error(`${name} holds no intact value`)
  return slots.reduce((a, b) => b.n > a.n ? b : a)
}

function slotBytes (name: string, n: number, value: unknown): Buffer {
  const payload = JSON.stringify({ n, value })
  const slot = Buffer.alloc(SLOT, ' ')
  if (slot.write(`${sha256Hex(payload)} ${payload}`) > SLOT - 1) throw new Error(`${name}: value too large for a register slot`)
  slot.write('\n', SLOT - 1)
  return slot
}

/** Opens (or creates, durably) a register file for writing. */
async function openRegister (dir: string, name: string): Promise<FileHandle> {
  const path = join(dir, name)
  try {
    return await open(path, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const file = await open(path, 'wx', 0o600)
  // A new file's name is durable only once its directory is synced.
  const d = await open(dir, 'r')
  try { await d.sync() } finally { await d.close() }
  return file
}

/**
 * Successive values of one register through a file kept open: a write is one pwrite and one
 * fdatasync. Writes must not overlap (the caller serializes them).
 */
export class RegisterWriter {
  private file: Promise<FileHandle> | undefined
  private n = 0

  constructor (private readonly dir: string, private readonly name: string) {}

  /** Continues the numbering of a register read back at open. */
  resume (n: number): void { this.n = Math.max(this.n, n) }

  async write (value: unknown): Promise<void> {
    const slot = slotBytes(this.name, ++this.n, value)
    this.file ??= openRegister(this.dir, this.name)
    const file = await this.file.catch((err: Error) => {
      this.file = undefined
      throw err
    })
    await file.write(slot, 0, SLOT, (this.n % 2) * SLOT)
    await file.datasync()
  }

  async close (): Promise<void> {
    const file = this.file
    this.file = undefined
    if (file !== undefined) await (await file.catch(() => undefined))?.close()
  }
}
