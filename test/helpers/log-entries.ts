// Reads a stopped node's whole log, as a test inspects it after the fact.
import { join } from 'node:path'
import { openDb } from '../../src/log/db.js'
import { RecordLog, type LogEntry } from '../../src/log/record-log.js'

export async function logEntries (dataDir: string): Promise<LogEntry[]> {
  const db = await openDb(join(dataDir, 'db'))
  try {
    const log = await RecordLog.open(db)
    const out: LogEntry[] = []
    for await (const e of log.all()) out.push(e)
    return out
  } finally {
    await db.close()
  }
}
