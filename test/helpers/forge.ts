// What a party that rewrites its own history does: replace one entry of its (stopped) log and
// recompute everything after it — the hash chain, the stored head, the head witness — so its node
// starts as if nothing happened. Only a counterparty holding an earlier checkpoint can tell.
import { Level } from 'level'
import { canonicalBytes } from '../../src/records/canonical.js'
import { toHex } from '../../src/records/bytes.js'
import { recordId, type Envelope } from '../../src/records/envelope.js'
import { leafHash } from '../../src/log/merkle.js'
import { GENESIS, type LogEntry } from '../../src/log/record-log.js'
import { readRegister, RegisterWriter } from '../../src/log/db.js'

export async function rewriteLogEntry (dbDir: string, index: number, record: Envelope): Promise<void> {
  const level = new Level<string, unknown>(dbDir, { valueEncoding: 'json' })
  await level.open()
  try {
    const log = level.sublevel<string, LogEntry>('log', { valueEncoding: 'json' })
    const meta = level.sublevel<string, unknown>('meta', { valueEncoding: 'json' })
    const entries = await log.values().all()
    entries[index] = { ...entries[index]!, id: recordId(record), record }
    let prev = GENESIS
    for (const e of entries) {
      e.prev = prev
      prev = toHex(leafHash(canonicalBytes(e)))
    }
    await level.batch([
      ...entries.map(e => ({ type: 'put' as const, sublevel: log, key: e.seq.toString().padStart(12, '0'), value: e })),
      { type: 'put' as const, sublevel: meta, key: 'head', value: { size: entries.length, hash: prev } }
    ])
    await writeWitness(dbDir, { size: entries.length, hash: prev })
  } finally {
    await level.close()
  }
}

/** Overwrites the log's head witness, as a forger must. */
export async function writeWitness (dbDir: string, head: { size: number, hash: string }): Promise<void> {
  const witness = new RegisterWriter(dbDir, 'pairgrid-log-head')
  witness.resume((await readRegister(dbDir, 'pairgrid-log-head'))?.n ?? 0)
  try {
    await witness.write(head)
  } finally {
    await witness.close()
  }
}
