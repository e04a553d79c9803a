// One LevelDB per node. Sublevels keep the log, its indexes, meter readings and node state apart.
import { Level } from 'level'
import { GroupCommitter } from './group-commit.js'

export interface NodeDb {
  level: Level<string, unknown>
  committer: GroupCommitter
  close: () => Promise<void>
}

export async function openDb (dir: string): Promise<NodeDb> {
  const level = new Level<string, unknown>(dir, { valueEncoding: 'json' })
  try {
    await level.open()
  } catch (err) {
    const cause = (err as { cause?: Error }).cause
    throw new Error(`cannot open the LevelDB at ${dir}: ${cause?.message ?? (err as Error).message}`)
  }
  const committer = new GroupCommitter(level)
  return {
    level,
    committer,
    close: async () => {
      await committer.drain().catch(() => {})
      await level.close()
    }
  }
}
