// Peer-to-peer energy trade between separate processes over TCP: a PV building offers blocks,
// a buyer building and an EV site filter and accept them (partial fills, concurrent acceptance
// streams that never oversell), both meters settle each block with the Exergy payload, the buyer
// countersigns settlement and certificate, retires a certificate once, and net positions follow.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { Cluster, scenarioFile } from './helpers/cluster.js'
import { parseScenario } from '../src/cli/devnet/scenario.js'
import { verifyRecord, type Envelope, type Verified } from '../src/records/envelope.js'
import { canonicalize } from '../src/records/canonical.js'
import type { LogEntry } from '../src/log/record-log.js'
import type { TradeView } from '../src/trade/service.js'
import { verifyTradeBundle, type TradeBundle } from '../src/trade/bundle.js'
import { certificationFaults } from '../src/trade/certificates.js'
import type { NetPositions } from '../src/trade/net-position.js'
import { HostilePeer } from './helpers/hostile-peer.js'
import { generateKeyPair, readKeyFile } from '../src/identity/keyfile.js'
import { dataPaths } from '../src/node/data-dir.js'
import { encodeRecord, signRecord } from '../src/records/envelope.js'
import { offerTopic } from '../src/net/protocol-ids.js'
import type { OfferBody } from '../src/records/trade-schemas.js'

const SPEED = 300
const MIN = 60_000

interface TradeStatus {
  gossip: { rejected: Record<string, number> }
  refusals: Record<string, number>
  certificates: { issued: number, held: number, retired: number }
  netPosition: NetPositions
  ev?: { needWh: number, plan: { feasible: boolean, coveredWh: number, costMinor: { total: number }, blocks: Array<{ start: number, chargeWh: number, gridWh: number }> } }
}

let c: Cluster
const usd = (rate: number): { currency: string, rate: number } => ({ currency: 'USD', rate })

beforeAll(async () => {
  const base = await scenarioFile('trades')
  // The cluster's clock starts at 14:00 UTC: the EV is plugged in from then; the test drives offers itself.
  const parties = base.parties.map(p => p.name !== 'ev-site' ? p : { ...p, trade: { ...p.trade!, buyer: { ...p.trade!.buyer!, maxRate: usd(11_000) }, ev: { ...p.trade!.ev!, arrival: '14:00', departure: '17:30' } } })
  c = await Cluster.create(parseScenario({ ...base, parties, requests: [], offers: [], bids: [] }, 'trade test'), SPEED)
  for (const n of ['pv-building', 'buyer-building', 'ev-site']) await c.start(n)
  // Gossip has no replay: an offer published before a buyer is in the offers mesh never reaches it.
  const topic = offerTopic(c.market('community-energy'))
  for (const n of ['pv-building', 'buyer-building', 'ev-site']) {
    await c.waitFor(`${n} in the offers mesh`, async () => ((await c.node(n).control.call<{ mesh: Record<string, string[]> }>('GET', '/v1/status')).mesh[topic]?.length ?? 0) > 0 ? true : undefined, 30_000)
  }
}, 90_000)
afterAll(async () => { await c.destroy() })

const status = async (n: string): Promise<TradeStatus> => await c.node(n).control.call('GET', '/v1/trade/status')
const trades = async (n: string): Promise<TradeView[]> => await c.node(n).control.call('GET', '/v1/trade/trades')
const logOf = async (n: string, type: string): Promise<LogEntry[]> => await c.node(n).control.call('GET', `/v1/log?type=${type}`)

async function offer (quantityWh: number, rate: number, blockStart: number, extra: Record<string, unknown> = {}): Promise<string> {
  // Publishing needs subscribers on the offers topic: retried while the mesh forms.
  const res = await c.waitFor('the offers topic to have subscribers', async () => await c.node('pv-building').control.call<{ id: string }>('POST', '/v1/trade/offers', {
    marketplace: c.market('community-energy'), block: { start: blockStart, minutes: 15 }, quantityWh, price: usd(rate), ...extra
  }), 20_000)
  return res.id
}

const offers: Record<string, string> = {}
let b1 = 0

describe('peer-to-peer energy trade between processes over TCP', () => {
  it('buyers filter offers and accept them bilaterally; concurrent acceptances never oversell, each over-ask gets a signed refusal', async () => {
    b1 = Math.ceil((c.simNow() + 20 * MIN) / (15 * MIN)) * 15 * MIN
    const b2 = b1 + 15 * MIN
    // A: any consumer takes it (the building up to 6 kWh a block, the EV what its plan needs).
    offers.a = await offer(10_000, 8_000, b1)
    await c.waitFor('the building and the EV to take offer A', async () => {
      const on = (await trades('pv-building')).filter(t => t.offer === offers.a && t.status === 'confirmed')
      return on.length === 2 ? on : undefined
    }, 20_000)
    // C: above both buyers' prices, so neither policy takes it; the building's operator accepts it by hand, 8 streams at once.
    offers.c = await offer(9_000, 12_000, b1)
    // D: EV charging only (a stored-coupling rate class).
    offers.d = await offer(4_000, 7_000, b2, { forCoupling: { class: 'stored', subclass: 'ev' } })
    await c.waitFor('offer C to reach the building', async () => ((await c.node('buyer-building').control.call<Array<{ id: string }>>('GET', '/v1/trade/offers')).some(o => o.id === offers.c) ? true : undefined), 10_000)
    const answers = await Promise.all(Array.from({ length: 8 }, async () => await c.node('buyer-building').control.call<{ answer: Envelope }>('POST', '/v1/trade/accept', { offer: offers.c, quantityWh: 2_000 })))
    const confirmed = answers.filter(a => a.answer.type === 'trade.confirmation')
    const refused = answers.filter(a => a.answer.type === 'trade.refusal')
    expect(confirmed).toHaveLength(4)
    expect(refused).toHaveLength(4)
    for (const r of refused) {
      const v = verifyRecord(r.answer, ['trade.refusal'] as const)
      expect(v.record.body.reason).toBe('sold-out')
      expect(v.record.body.remainingWh).toBe(1_000)
      expect(v.record.sigs[0]!.by).toBe((await c.status('pv-building')).party)
    }
    // A partial fill of what remains is confirmed; the offer is then sold out exactly.
    const last = await c.node('buyer-building').control.call<{ answer: Envelope }>('POST', '/v1/trade/accept', { offer: offers.c, quantityWh: 1_000 })
    expect(last.answer.type).toBe('trade.confirmation')
    const producerView = await trades('pv-building')
    for (const id of Object.values(offers)) {
      const sold = producerView.filter(t => t.offer === id && t.status === 'confirmed').reduce((s, t) => s + t.quantityWh, 0)
      expect(sold).toBeLessThanOrEqual(id === offers.a ? 10_000 : id === offers.c ? 9_000 : 4_000)
    }
    expect(producerView.filter(t => t.offer === offers.c && t.status === 'confirmed').reduce((s, t) => s + t.quantityWh, 0)).toBe(9_000)
    // A consumer accepting the EV-only offer gets a signed refusal.
    const wrong = await c.node('buyer-building').control.call<{ answer: Envelope }>('POST', '/v1/trade/accept', { offer: offers.d, quantityWh: 500 })
    expect((wrong.answer.body as { reason: string }).reason).toBe('coupling-mismatch')
    await c.waitFor('the EV to take offer D', async () => (await trades('ev-site')).some(t => t.offer === offers.d && t.status === 'confirmed') ? true : undefined, 20_000)
    const building = await status('buyer-building')
    expect(building.refusals['offer-price']).toBeGreaterThanOrEqual(1)
    expect(building.refusals['offer-coupling']).toBeGreaterThanOrEqual(1)
    const ev = await status('ev-site')
    expect(ev.ev!.plan.feasible).toBe(true)
    expect(ev.ev!.plan.coveredWh).toBe(ev.ev!.needWh)
  }, 60_000)

  it('settles each block from both meters with the Exergy payload; certificates are countersigned and never double-certify', async () => {
    const expected = (await trades('pv-building')).filter(t => t.status === 'confirmed').length
    const settled = await c.waitFor('every confirmed trade to settle', async () => {
      const all = await trades('pv-building')
      return all.filter(t => t.status === 'settled').length === expected && all.every(t => t.status === 'settled' || t.status === 'refused') ? all.filter(t => t.status === 'settled') : undefined
    }, 45_000)
    const pv = await c.status('pv-building')
    const certificates: Array<Verified<'trade.certificate'>> = []
    for (const t of settled) {
      const buyer = t.counterparty === (await c.status('ev-site')).party ? 'ev-site' : 'buyer-building'
      expect((await trades(buyer)).find(x => x.id === t.id)?.status).toBe('settled')
      const bundle = await c.node(buyer).control.call<TradeBundle>('GET', `/v1/trade/trades/${t.id}/bundle`)
      const mine = await c.node('pv-building').control.call<TradeBundle>('GET', `/v1/trade/trades/${t.id}/bundle`)
      // Both logs hold the same chain and both meters' readings.
      expect(canonicalize([mine.records, mine.producerReadings, mine.buyerReadings]) === canonicalize([bundle.records, bundle.producerReadings, bundle.buyerReadings])).toBe(true)
      const verdict = verifyTradeBundle(bundle)
      expect(verdict).toMatchObject({ ok: true, summary: { status: 'settled', metersBound: true } })
      const s = verifyRecord(bundle.records.find(r => r.type === 'trade.settlement'), ['trade.settlement'] as const).record.body
      expect(s.deliveredWh).toBeLessThanOrEqual(s.acceptedWh)
      expect(s.deliveredWh).toBe(s.acceptedWh)
      expect(s.amount.minor).toBe(Math.floor(s.receivedWh * s.price.rate / 1e6))
      expect(s.exergy.gridConnect.state).toBe('parallel')
      expect(s.exergy.gridConnect.readings.parallel).toBe(15 * MIN / 2000)
      expect(s.exergy.generation).toEqual({ carbonClass: 'zce', zceSubclass: 'solar-pv' })
      expect(s.exergy.derCategory).toEqual({ voltage: 'B', rideThrough: 'III' })
      expect(s.exergy.location.source.node).toBe('pv-building')
      expect(s.exergy.loadCoupling).toEqual(buyer === 'ev-site' ? { class: 'stored', subclass: 'ev' } : { class: 'consumed' })
      expect(s.exergy.proximity.relation).toBe(buyer === 'ev-site' ? 'other-feeder' : 'same-feeder')
      expect(s.exergy.eps.source.voltagePu.min).toBeGreaterThanOrEqual(900)
      expect(s.ledger.producer.size).toBeGreaterThan(0)
      certificates.push(verifyRecord(bundle.records.find(r => r.type === 'trade.certificate'), ['trade.certificate'] as const))
      expect(certificates.at(-1)!.record.sigs.map(x => x.by)).toEqual([pv.party, (await c.status(buyer)).party])
    }
    // Six trades share block 1 (partial fills): their certificates share its interval without certifying it twice.
    expect(certificates.filter(x => x.record.body.interval.from === b1).length).toBeGreaterThanOrEqual(6)
    expect(certificationFaults(certificates)).toEqual([])
    expect((await status('pv-building')).certificates.issued).toBe(settled.length)
  }, 60_000)

  it('a buyer retires a certificate once; a second retirement is refused', async () => {
    const t = (await trades('buyer-building')).find(x => x.status === 'settled' && x.certificate !== undefined)!
    const first = await c.node('buyer-building').control.call<{ retirement: Envelope }>('POST', `/v1/trade/certificates/${t.certificate!}/retire`)
    expect(verifyRecord(first.retirement, ['trade.retirement'] as const).record.body.certificate).toBe(t.certificate)
    await expect(c.node('buyer-building').control.call('POST', `/v1/trade/certificates/${t.certificate!}/retire`)).rejects.toThrow(/409.*already-retired/)
    await c.waitFor('the producer to log the retirement', async () => (await logOf('pv-building', 'trade.retirement')).some(e => e.id === verifyRecord(first.retirement).id) ? true : undefined, 10_000)
    expect((await status('buyer-building')).certificates.retired).toBe(1)
    expect((await status('buyer-building')).refusals['already-retired']).toBe(1)
  }, 30_000)

  it('net positions per counterparty and marketplace come from countersigned settlements only', async () => {
    const pv = await status('pv-building')
    const building = await status('buyer-building')
    const ids = { building: (await c.status('buyer-building')).party, pv: (await c.status('pv-building')).party }
    const sum = (ts: TradeView[]): number => ts.filter(t => t.status === 'settled').reduce((s, t) => s + t.amount!.minor, 0)
    const paid = sum(await trades('buyer-building'))
    expect(paid).toBeGreaterThan(0)
    expect(pv.netPosition.byCounterparty[ids.building]!.moneyMinor.USD).toBe(paid)
    expect(building.netPosition.byCounterparty[ids.pv]!.moneyMinor.USD).toBe(-paid)
    expect(building.netPosition.byCounterparty[ids.pv]!.tradeWh.bought).toBe(pv.netPosition.byCounterparty[ids.building]!.tradeWh.sold)
    expect(pv.netPosition.byMarketplace[c.market('community-energy')]!.moneyMinor.USD).toBe(paid + sum(await trades('ev-site')))
  }, 30_000)

  it('offers from a party the marketplace does not admit are rejected where they enter; an admitted producer\'s offer is accepted whoever relays it', async () => {
    const stranger = generateKeyPair()
    const market = c.market('community-energy')
    const hostile = await HostilePeer.start(stranger, (await c.status('buyer-building')).addrs[0]!, market)
    const unknownBefore = (await status('buyer-building')).gossip.rejected['unknown-party'] ?? 0
    try {
      const topic = offerTopic(market)
      hostile.net.services.pubsub.subscribe(topic)
      await c.waitFor('the hostile peer in the offers mesh', async () => (hostile.net.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(topic).length > 0 ? true : undefined, 20_000)
      const pv = await readKeyFile(dataPaths(c.dir('pv-building')).partyKey)
      const genuine = (await c.node('buyer-building').control.call<Array<OfferBody & { id: string }>>('GET', '/v1/trade/offers')).find(o => o.producer === pv.id)!
      const { id: _id, ...body } = genuine
      const start = Math.ceil((c.simNow() + 30 * MIN) / (15 * MIN)) * 15 * MIN
      const fresh = { ...body, block: { start, end: start + 15 * MIN }, issuedAt: c.simNow(), expiresAt: start, nonce: 'f'.repeat(32) }
      const unadmitted = signRecord('trade.offer', { ...fresh, producer: stranger.id }, stranger)
      await hostile.net.services.pubsub.publish(topic, encodeRecord(unadmitted.record))
      // An offer the producer signed (with its key), relayed by the stranger's node: gossip
      // messages carry no publisher, the record's signature and its signer's admission decide.
      const relayed = signRecord('trade.offer', fresh, pv)
      await hostile.net.services.pubsub.publish(topic, encodeRecord(relayed.record))
      const book = async (): Promise<string[]> => (await c.node('buyer-building').control.call<Array<{ id: string }>>('GET', '/v1/trade/offers')).map(o => o.id)
      await c.waitFor('the stranger\'s offer rejected and the relayed one accepted by the buyer', async () => {
        const r = (await status('buyer-building')).gossip.rejected
        return (r['unknown-party'] ?? 0) > unknownBefore && (await book()).includes(relayed.id) ? true : undefined
      }, 20_000)
      expect(await book()).not.toContain(unadmitted.id)
    } finally {
      await hostile.stop()
    }
  }, 40_000)
})
