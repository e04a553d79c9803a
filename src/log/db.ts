// One LevelDB per node. Sublevels keep the log, its indexes, meter readings and node state apart.
import { Level } from 'level'
import { open, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256, toHex } from '../records/bytes.js'
import { GroupCommitter } from './group-commit.js'

export interface NodeDb {
  /** The LevelDB directory: every storage error names it. */
  dir: string
  level: Level<string, unknown>
  committer: GroupCommitter
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
  return {
    dir,
    level,
    committer,
    close: async () => {
      await committer.drain().catch(() => {})
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
  if (space < 0 || toHex(sha256(Buffer.from(payload))) !== text.slice(0, space)) return undefined
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

/** Writes value number `n` of a register (slot n % 2) and returns once it is on disk. */
export async function writeRegister (dir: string, name: string, n: number, value: unknown): Promise<void> {
  const payload = JSON.stringify({ n, value })
  const slot = Buffer.alloc(SLOT, ' ')
  if (slot.write(`${toHex(sha256(Buffer.from(payload)))} ${payload}`) > SLOT - 1) throw new Error(`${name}: value too large for a register slot`)
  slot.write('\n', SLOT - 1)
  const path = join(dir, name)
  let created = false
  const file = await open(path, 'r+').catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err
    created = true
    return await open(path, 'wx', 0o600)
  })
  try {
    await file.write(slot, 0, SLOT, (n % 2) * SLOT)
    await file.datasync()
  } finally {
    await file.close()
  }
  // A new file's name is durable only once its directory is synced.
  if (created) {
    const d = await open(dir, 'r')
    try { await d.sync() } finally { await d.close() }
  }
}
