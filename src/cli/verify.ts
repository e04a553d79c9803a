// `pairgrid verify`: check an audit bundle, or a whole node log, offline.
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { verifyBundle, type BundleVerdict } from '../log/bundle.js'
import { TRADE_BUNDLE_FORMAT, verifyTradeBundle, type TradeBundleVerdict } from '../trade/bundle.js'
import { openDb } from '../log/db.js'
import { RecordLog, auditLog } from '../log/record-log.js'
import { dataPaths } from '../node/data-dir.js'

/** Verifies a grid-service or an energy-trade audit bundle, by its format. */
export async function verifyBundleFile (path: string): Promise<BundleVerdict | TradeBundleVerdict> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    return { ok: false, fault: `cannot read ${path}: ${(err as Error).message}` }
  }
  return (value as { format?: unknown })?.format === TRADE_BUNDLE_FORMAT ? verifyTradeBundle(value) : verifyBundle(value)
}

export async function verifyDataDir (dir: string): Promise<{ ok: boolean, entries: number, root?: string, fault?: string }> {
  // Opening would create an empty database where there is none: refuse instead.
  if (!existsSync(join(dataPaths(dir).db, 'CURRENT'))) return { ok: false, entries: 0, fault: `${dir} holds no node database (${dataPaths(dir).db}/CURRENT is missing)` }
  const db = await openDb(dataPaths(dir).db)
  try {
    const log = await RecordLog.open(db)
    const audit = await auditLog(log)
    return audit.fault === undefined
      ? { ok: true, entries: audit.entries, root: log.head.root }
      : { ok: false, entries: audit.entries, fault: audit.fault }
  } catch (err) {
    return { ok: false, entries: 0, fault: (err as Error).message }
  } finally {
    await db.close()
  }
}
