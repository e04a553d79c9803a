// A producer that rewrites its history is caught at the next settlement: after one trade the
// buyer holds a checkpoint of the producer's log; the producer (stopped) rewrites its first entry
// consistently — re-signed, hash chain, head and witness recomputed, so its node starts —
// and the buyer disputes the next settlement with `fork-detected`.
import { describe, it, expect, afterAll } from 'vitest'
import { Cluster, scenarioFile } from './helpers/cluster.js'
import { stopNode } from '../src/cli/devnet/processes.js'
import { parseScenario } from '../src/cli/devnet/scenario.js'
import { openDb } from '../src/log/db.js'
import { rewriteLogEntry } from './helpers/forge.js'
import type { LogEntry } from '../src/log/record-log.js'
import { signRecord, verifyRecord } from '../src/records/envelope.js'
import { readKeyFile } from '../src/identity/keyfile.js'
import { dataPaths } from '../src/node/data-dir.js'
import type { TradeView } from '../src/trade/service.js'

const MIN = 60_000
let c: Cluster | undefined
afterAll(async () => { await c?.destroy() })

/** Rewrites entry 0 (an offer) with another price, re-signed, and everything that hashes over it. */
async function rewriteFirstEntry (dir: string): Promise<{ before: string, after: string }> {
  const keys = await readKeyFile(dataPaths(dir).partyKey)
  const db = await openDb(dataPaths(dir).db)
  let first: LogEntry
  try {
    first = (await db.level.sublevel<string, LogEntry>('log', { valueEncoding: 'json' }).values({ limit: 1 }).all())[0]!
  } finally {
    await db.close()
  }
  if (first.record.type !== 'trade.offer') throw new Error(`entry 0 is a ${first.record.type}`)
  const body = first.record.body as { price: { currency: string, rate: number } }
  const forged = signRecord('trade.offer', { ...body, price: { ...body.price, rate: body.price.rate - 5_000 } } as never, keys)
  await rewriteLogEntry(dataPaths(dir).db, 0, forged.record)
  return { before: first.id, after: forged.id }
}

describe('ledger state at trade settlement', () => {
  it('a producer that rewrote an earlier log entry is disputed with fork-detected', async () => {
    const base = await scenarioFile('trades')
    c = await Cluster.create(parseScenario({ ...base, requests: [], offers: [], bids: [] }, 'fork test'), 300)
    await c.start('pv-building')
    await c.start('buyer-building')
    const cluster = c
    const trades = async (n: string): Promise<TradeView[]> => await cluster.node(n).control.call('GET', '/v1/trade/trades')
    const offer = async (rate: number, start: number): Promise<string> => (await cluster.waitFor('offers topic subscribers', async () =>
      await cluster.node('pv-building').control.call<{ id: string }>('POST', '/v1/trade/offers', { marketplace: cluster.market('community-energy'), block: { start, minutes: 15 }, quantityWh: 8_000, price: { currency: 'USD', rate } }), 20_000)).id
    const b1 = Math.ceil((c.simNow() + 20 * MIN) / (15 * MIN)) * 15 * MIN
    // X: priced above the buyer's policy, so nobody takes it: the producer's first log entry.
    const x = await offer(20_000, b1)
    const a = await offer(8_000, b1)
    const first = await c.waitFor('the first trade to settle', async () => (await trades('buyer-building')).find(t => t.offer === a && t.status === 'settled'), 40_000)
    expect(first.gridConnect).toBe('parallel')

    await stopNode(c.node('pv-building'))
    const { before, after } = await rewriteFirstEntry(c.dir('pv-building'))
    expect(before).toBe(x)
    expect(after).not.toBe(x)
    // The forged log is self-consistent: the node starts on it.
    await c.start('pv-building')

    const b2 = Math.ceil((c.simNow() + 20 * MIN) / (15 * MIN)) * 15 * MIN
    const b = await offer(8_000, b2)
    const disputed = await c.waitFor('the second trade to end', async () => (await trades('buyer-building')).find(t => t.offer === b && (t.status === 'disputed' || t.status === 'settled')), 40_000)
    expect(disputed.status).toBe('disputed')
    expect(disputed.dispute).toMatch(/^fork-detected: /)
    const [entry] = await c.node('buyer-building').control.call<LogEntry[]>('GET', '/v1/log?type=trade.dispute')
    const dispute = verifyRecord(entry!.record, ['trade.dispute'] as const).record.body
    expect(dispute.reason).toBe('fork-detected')
    expect(dispute.against).toBe((await c.status('pv-building')).party)
    await c.waitFor('the producer to log the dispute', async () => (await trades('pv-building')).find(t => t.offer === b && t.status === 'disputed') !== undefined ? true : undefined, 20_000)
  }, 120_000)
})
