// Governed marketplaces and every price mechanism, between separate processes over TCP.
import { describe, it, expect, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath, packageRoot } from '../src/node/package-root.js'
import { verifyBundle, type AuditBundle } from '../src/log/bundle.js'
import type { SummaryTx } from '../src/cli/devnet/summary.js'
import { Cluster, scenarioFile } from './helpers/cluster.js'
import { HostilePeer } from './helpers/hostile-peer.js'
import { readKeyFile } from '../src/identity/keyfile.js'
import { encodeRecord, signRecord } from '../src/records/envelope.js'
import { parseScenario } from '../src/cli/devnet/scenario.js'

const run = promisify(execFile)
const root = await mkdtemp(join(tmpdir(), 'pairgrid-markets-'))
afterAll(async () => { await rm(root, { recursive: true, force: true }) })

describe('three marketplaces, every counterparty kind and price mechanism', () => {
  it('settles in all three marketplaces; auctions clear by the stated rule', async () => {
    const out = join(root, 'out')
    const { stdout } = await run(process.execPath, [cliPath(), 'devnet', '--scenario', join(packageRoot(), 'devnet', 'markets.json'), '--out', out], { timeout: 240_000 })
    expect(stdout).toMatch(/every expected transaction ended as expected/)
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as { transactions: SummaryTx[] }
    const settled = summary.transactions.filter(t => t.status === 'settled')
    // building-a settles in the utility's, the ISO's and the community's marketplaces.
    expect(new Set(settled.filter(t => t.provider === 'building-a').map(t => t.marketplace))).toEqual(new Set(['utility-dr', 'iso-ancillary', 'community']))
    expect(new Set(settled.map(t => t.counterpartyRole))).toEqual(new Set(['distribution-utility', 'iso-rto', 'community-energy', 'peer-facility']))
    expect(new Set(settled.map(t => t.priceMechanism))).toEqual(new Set(['tariff', 'auction', 'framework']))
    // Auctions: winners are paid the uniform clearing rate, the highest winning bid; losers get a signed rejection.
    for (const t of summary.transactions.filter(x => x.priceMechanism === 'auction')) {
      const bundle = JSON.parse(await readFile(join(out, t.bundle), 'utf8')) as AuditBundle
      expect(verifyBundle(bundle).ok).toBe(true)
      const [, bid, answer] = bundle.records
      if (t.status === 'rejected') {
        expect(answer!.type).toBe('grid.rejection')
        expect((answer!.body as { reason: string }).reason).toBe('auction-lost')
        continue
      }
      const sameAuction = summary.transactions.filter(x => x.request === t.request && x.status === 'settled')
      const winningBids = await Promise.all(sameAuction.map(async x => ((JSON.parse(await readFile(join(out, x.bundle), 'utf8')) as AuditBundle).records[1]!.body as { price: { rate: number } }).price.rate))
      expect((answer!.body as { price: { rate: number } }).price.rate).toBe(Math.max(...winningBids))
      expect((bid!.body as { price: { rate: number } }).price.rate).toBeLessThanOrEqual((bundle.records[0]!.body as { price: { rate: number } }).price.rate)
    }
  }, 300_000)

  it('a framework request whose price differs from the agreement is refused by the building', async () => {
    // The markets scenario's parties and credentials; only building-a runs, and the aggregator
    // speaks through a raw libp2p peer holding its key.
    const scenario = parseScenario({ ...await scenarioFile('markets'), requests: [] }, 'framework refusal')
    const cluster = await Cluster.create(scenario, 120)
    try {
      await cluster.start('building-a')
      const market = cluster.market('community')
      const cca = await readKeyFile(join(cluster.dir('cca'), 'keys', 'party.key'))
      // The cca's own key, but a price the signed agreement does not carry — sent past the
      // requester's own checks by a raw libp2p peer.
      const hostile = await HostilePeer.start(cca, (await cluster.status('building-a')).addrs[0]!, market)
      const start = Math.ceil((cluster.simNow() + 30 * 60_000) / 60_000) * 60_000
      const body = {
        marketplace: market, requester: cca.id, service: 'demand-response' as const, window: { start, end: start + 15 * 60_000 },
        quantity: { value: 20_000, unit: 'W' as const }, price: { mechanism: 'framework' as const, reference: 'fa/cca-building-a-2026', currency: 'USD', rate: 999_000, rateUnit: 'MWh' as const },
        settlementMethod: 'pairgrid/dr-mbe/1', settlementIntervalMs: 900_000, toleranceBp: 1000, nonce: 'ab'.repeat(16), issuedAt: cluster.simNow(), expiresAt: start
      }
      await hostile.publishRequest(market, encodeRecord(signRecord('grid.request', body, cca).record))
      await cluster.waitFor('the building to refuse', async () => ((await cluster.status('building-a')).refusals?.['price-mismatch'] ?? 0) > 0 ? true : undefined, 20_000)
      expect(await cluster.transactions('building-a')).toHaveLength(0)
      // Dated an hour ahead of every clock: rejected at the gossip layer, never committed to.
      const future = { ...body, price: { ...body.price, rate: 120_000 }, nonce: 'ef'.repeat(16), issuedAt: cluster.simNow() + 3_600_000, expiresAt: start + 60_000 }
      const rejectedBefore = (await cluster.status('building-a')).gossip.rejected.schema ?? 0
      await hostile.publishRequest(market, encodeRecord(signRecord('grid.request', future, cca).record))
      await cluster.waitFor('the future-dated request to be rejected', async () => ((await cluster.status('building-a')).gossip.rejected.schema ?? 0) > rejectedBefore ? true : undefined, 20_000)
      expect(await cluster.transactions('building-a')).toHaveLength(0)
      // The same request at the agreed price is committed to.
      await hostile.publishRequest(market, encodeRecord(signRecord('grid.request', { ...body, price: { ...body.price, rate: 120_000 }, nonce: 'cd'.repeat(16) }, cca).record))
      await cluster.waitFor('a commitment at the agreed price', async () => (await cluster.transactions('building-a')).length > 0 ? true : undefined, 20_000)
      await hostile.stop()
    } finally {
      await cluster.destroy()
    }
  }, 120_000)
})
