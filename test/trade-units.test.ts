// Peer-to-peer trade, the pure parts: grid-connect state derivation (IEEE 1547-2017 bands), the
// loss model, the settlement arithmetic and its check, certificates (double certification,
// retirement), the EV charging plan (seed 002's example) and offline trade bundles.
import { describe, it, expect } from 'vitest'
import { keyPairFromSeed } from '../src/identity/ed25519.js'
import { countersign, signRecord, type Verified } from '../src/records/envelope.js'
import type { ReadingBody } from '../src/records/meter-schemas.js'
import type { Location, OfferBody } from '../src/records/trade-schemas.js'
import { blockGridState, gridConnectState } from '../src/trade/grid-state.js'
import { afterLoss, distanceM, lossEstimate } from '../src/trade/proximity.js'
import { certificateOf, checkTradeSettlement, computeTradeSettlement, type DeliveryInputs } from '../src/trade/delivery.js'
import { CertificateRegistry, certificateConflict, certificationFaults, retirementConflict } from '../src/trade/certificates.js'
import { milesToWh, planCharging, sessionAt } from '../src/trade/ev-plan.js'
import { makeTradeBundle, verifyTradeBundle } from '../src/trade/bundle.js'
import { offerMismatch } from '../src/trade/filters.js'

const key = (byte: number): ReturnType<typeof keyPairFromSeed> => keyPairFromSeed(new Uint8Array(32).fill(byte))
const producer = key(2)
const producerMeter = key(3)
const buyer = key(5)
const buyerMeter = key(6)
const T0 = Date.UTC(2026, 10, 21, 12, 0)
const MIN = 60_000

describe('grid-connect state (pairgrid/grid-state/1)', () => {
  const cases: Array<[number, number, number, string]> = [
    // voltage p.u.×1000, frequency mHz, ROCOF mHz/s, state
    [1000, 60_000, 0, 'parallel'],
    [900, 58_800, 0, 'parallel'],
    [1100, 61_200, 500, 'parallel'],
    [899, 60_000, 0, 'ride-through'],
    [1101, 60_000, 0, 'ride-through'],
    [1000, 58_799, 0, 'ride-through'],
    [1000, 61_201, 0, 'ride-through'],
    [500, 60_000, 0, 'ride-through'],
    [1200, 60_000, 0, 'ride-through'],
    [1000, 56_500, 0, 'ride-through'],
    [1000, 62_000, -3000, 'ride-through'],
    [499, 60_000, 0, 'islanded'],
    [0, 60_000, 0, 'islanded'],
    [1201, 60_000, 0, 'islanded'],
    [1000, 56_499, 0, 'islanded'],
    [1000, 62_001, 0, 'islanded'],
    [1000, 60_000, 3001, 'islanded'],
    [1000, 60_000, -3001, 'islanded']
  ]
  it.each(cases)('V=%i f=%i ROCOF=%i is %s', (voltagePu, frequencyMHz, rocofMHzPerS, state) => {
    expect(gridConnectState({ voltagePu, frequencyMHz, rocofMHzPerS })).toBe(state)
  })

  it('a block takes its most severe reading, and counts them all', () => {
    const normal = { voltagePu: 1000, frequencyMHz: 60_000, rocofMHzPerS: 0 }
    expect(blockGridState([normal, normal])).toEqual({ state: 'parallel', rule: 'pairgrid/grid-state/1', readings: { parallel: 2, rideThrough: 0, islanded: 0 } })
    expect(blockGridState([normal, { ...normal, voltagePu: 880 }, normal]).state).toBe('ride-through')
    expect(blockGridState([{ ...normal, voltagePu: 880 }, { ...normal, voltagePu: 0 }]).readings).toEqual({ parallel: 0, rideThrough: 1, islanded: 1 })
  })
})

const at = (feeder: string, node: string, latE6: number, lonE6: number): Location => ({ feeder, node, latE6, lonE6 })

describe('loss model (pairgrid/loss/1)', () => {
  it('measures distance in whole metres with integer arithmetic', () => {
    expect(distanceM(at('f', 'a', 37_770_000, -122_420_000), at('f', 'a', 37_770_000, -122_420_000))).toBe(0)
    // 0.01° of latitude is 1,111.95 m.
    expect(distanceM(at('f', 'a', 37_770_000, -122_420_000), at('f', 'b', 37_780_000, -122_420_000))).toBe(1111)
    // 0.01° of longitude at 37° is scaled by round(1000 cos 37°) = 799.
    expect(distanceM(at('f', 'a', 37_770_000, -122_420_000), at('f', 'b', 37_770_000, -122_410_000))).toBe(888)
    // Across the antimeridian the short way round.
    expect(distanceM(at('f', 'a', 0, 179_999_000), at('f', 'b', 0, -179_999_000))).toBe(222)
  })

  it('gives 0.5% at one node, line losses along a feeder, transformer losses across feeders, capped', () => {
    const a = at('feeder-1', 'pv', 37_770_000, -122_420_000)
    expect(lossEstimate(a, a)).toMatchObject({ relation: 'same-node', lossPm: 5 })
    expect(lossEstimate(a, at('feeder-1', 'b', 37_780_000, -122_420_000))).toMatchObject({ relation: 'same-feeder', distanceM: 1111, lossPm: 5 + 9 })
    expect(lossEstimate(a, at('feeder-2', 'c', 37_780_000, -122_420_000))).toMatchObject({ relation: 'other-feeder', lossPm: 5 + 9 + 20 })
    expect(lossEstimate(a, at('feeder-1', 'far', 38_770_000, -122_420_000)).lossPm).toBe(60)
    expect(lossEstimate(a, at('feeder-9', 'far', 38_770_000, -122_420_000)).lossPm).toBe(80)
    expect(lossEstimate(a, at('feeder-9', 'far', 48_770_000, -122_420_000)).lossPm).toBe(80)
  })

  it('rounds the loss up, so the buyer never pays for energy lost', () => {
    expect(afterLoss(1000n, 5)).toBe(995n)
    expect(afterLoss(1001n, 5)).toBe(995n)
    expect(afterLoss(0n, 34)).toBe(0n)
  })
})

// ---- a whole trade, signed ------------------------------------------------------------------

const block = { start: T0, end: T0 + 15 * MIN }
const pvAt = at('feeder-1', 'pv-building', 37_770_000, -122_420_000)
const evAt = at('feeder-2', 'ev-site', 37_771_800, -122_421_400)

function readings (meter: typeof producerMeter, from: number, registers: Array<{ importWh: number, exportWh: number }>, eps: Array<Partial<ReadingBody>> = []): Array<Verified<'meter.reading'>> {
  return registers.map((r, i) => signRecord('meter.reading', {
    meter: meter.id, seq: 100 + i, t: from + i * 5 * MIN, intervalMs: 5 * MIN, ...r, importVarh: 0, exportVarh: 0, avgW: 0, avgVar: 0,
    voltagePu: 1003, frequencyMHz: 60_001, rocofMHzPerS: 2, ...eps[i]
  }, meter))
}

function offerBody (over: Partial<OfferBody> = {}): OfferBody {
  return {
    marketplace: 'community-energy', producer: producer.id, meter: producerMeter.id, block, quantityWh: 10_000, price: { currency: 'USD', rate: 8_000 },
    deliveryPoint: pvAt, generation: { carbonClass: 'zce', zceSubclass: 'solar-pv' }, derCategory: { voltage: 'B', rideThrough: 'III' },
    nonce: '0'.repeat(32), issuedAt: T0 - 30 * MIN, expiresAt: T0, ...over
  }
}

function chain (quantityWh: number, nonce = '1'.repeat(32)): Pick<DeliveryInputs, 'offer' | 'acceptance' | 'confirmation'> {
  const offer = signRecord('trade.offer', offerBody(), producer)
  const acceptance = signRecord('trade.acceptance', {
    offer: offer.id, marketplace: 'community-energy', producer: producer.id, buyer: buyer.id, buyerMeter: buyerMeter.id, block, quantityWh,
    price: offer.record.body.price, loadCoupling: { class: 'stored', subclass: 'ev' }, premiums: { rideThroughBp: 1000, islandedBp: 2500 }, nonce, issuedAt: T0 - 20 * MIN
  }, buyer)
  const confirmation = signRecord('trade.confirmation', { acceptance: acceptance.id, offer: offer.id, producer: producer.id, buyer: buyer.id, quantityWh, issuedAt: T0 - 20 * MIN }, producer)
  return { offer, acceptance, confirmation }
}

const ledger = { producer: { size: 7, root: 'a'.repeat(64) }, buyer: { size: 3, root: 'b'.repeat(64) } }

function inputs (over: Partial<DeliveryInputs> = {}): DeliveryInputs {
  return {
    ...chain(6_000),
    producerReadings: readings(producerMeter, T0, [0, 3000, 7000, 10_000].map(e => ({ importWh: 500, exportWh: 2000 + e }))).map(r => r.record),
    buyerReadings: readings(buyerMeter, T0, [0, 2000, 4000, 6000].map(i => ({ importWh: 900 + i, exportWh: 0 }))).map(r => r.record),
    producerBlockWh: 6_000,
    buyerBlockWh: 6_000,
    buyerLocation: evAt,
    ledger,
    issuedAt: block.end + 2 * MIN,
    ...over
  }
}

describe('trade settlement arithmetic', () => {
  it('delivers min(export share, accepted, import share grossed up), loses the model\'s loss, pays for what arrives', () => {
    const r = computeTradeSettlement(inputs())
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const s = r.body
    const loss = lossEstimate(pvAt, evAt)
    expect(loss.relation).toBe('other-feeder')
    expect(s.producerMeter).toMatchObject({ registerWh: 10_000, blockWh: 6_000, shareWh: 6_000 })
    expect(s.buyerMeter).toMatchObject({ registerWh: 6_000, shareWh: 6_000 })
    // The buyer's 6,000 Wh import absorbs floor(6000 · 1000 / (1000 − loss)) sent: more than the 6,000 accepted.
    expect(s.deliveredWh).toBe(6_000)
    expect(s.lossWh).toBe(Math.ceil(6_000 * loss.lossPm / 1000))
    expect(s.receivedWh).toBe(6_000 - s.lossWh)
    expect(s.amount).toEqual({ minor: Math.floor(s.receivedWh * 8_000 / 1e6), currency: 'USD' })
    expect(s.premiumBp).toBe(0)
    expect(s.exergy).toMatchObject({
      gridConnect: { state: 'parallel', readings: { parallel: 3, rideThrough: 0, islanded: 0 } },
      generation: { carbonClass: 'zce', zceSubclass: 'solar-pv' },
      derCategory: { voltage: 'B', rideThrough: 'III' },
      loadCoupling: { class: 'stored', subclass: 'ev' },
      eps: { source: { voltagePu: { min: 1003, max: 1003, mean: 1003 }, frequencyMHz: { min: 60_001, max: 60_001, mean: 60_001 }, maxAbsRocofMHzPerS: 2 } },
      energy: { producedWh: 6_000, deliveredWh: s.receivedWh },
      location: { source: pvAt, load: evAt },
      proximity: { model: 'pairgrid/loss/1', relation: 'other-feeder', lossPm: loss.lossPm, efficiencyPm: Math.floor(s.receivedWh * 1000 / 6_000) }
    })
  })

  it('shares a short export pro rata among the block\'s sales, and caps by what the buyer imported', () => {
    const r = computeTradeSettlement(inputs({ producerBlockWh: 20_000 }))
    expect(r.ok && r.body.producerMeter.shareWh).toBe(3_000)
    expect(r.ok && r.body.deliveredWh).toBe(3_000)
    const lowImport = computeTradeSettlement(inputs({ buyerReadings: readings(buyerMeter, T0, [0, 1000, 2000, 3000].map(i => ({ importWh: 900 + i, exportWh: 0 }))).map(x => x.record) }))
    const loss = lossEstimate(pvAt, evAt).lossPm
    expect(lowImport.ok && lowImport.body.deliveredWh).toBe(Math.floor(3_000 * 1000 / (1000 - loss)))
    expect(lowImport.ok && lowImport.body.receivedWh).toBeLessThanOrEqual(3_000)
  })

  it('adds the acceptance\'s premium when the producer\'s readings put the block in ride-through or islanded', () => {
    const rt = computeTradeSettlement(inputs({ producerReadings: readings(producerMeter, T0, [0, 3000, 7000, 10_000].map(e => ({ importWh: 500, exportWh: 2000 + e })), [{}, {}, { voltagePu: 885 }, {}]).map(r => r.record) }))
    expect(rt.ok && rt.body.exergy.gridConnect.state).toBe('ride-through')
    expect(rt.ok && rt.body.premiumBp).toBe(1000)
    expect(rt.ok && rt.body.amount.minor).toBe(rt.ok ? Math.floor(rt.body.receivedWh * 8_800 / 1e6) : -1)
    const isl = computeTradeSettlement(inputs({ producerReadings: readings(producerMeter, T0, [0, 3000, 7000, 10_000].map(e => ({ importWh: 500, exportWh: 2000 + e })), [{}, { frequencyMHz: 56_000 }, {}, {}]).map(r => r.record) }))
    expect(isl.ok && isl.body.premiumBp).toBe(2500)
  })

  it('the buyer\'s check passes on the same inputs and names what differs otherwise', () => {
    const i = inputs()
    const r = computeTradeSettlement(i)
    if (!r.ok) throw new Error(r.detail)
    const signed = signRecord('trade.settlement', r.body, producer)
    expect(checkTradeSettlement(signed, i)).toEqual({ ok: true })
    const cheat = signRecord('trade.settlement', { ...r.body, amount: { ...r.body.amount, minor: r.body.amount.minor + 1 } }, producer)
    expect(checkTradeSettlement(cheat, i)).toMatchObject({ ok: false, reason: 'amount-mismatch' })
    const grid = signRecord('trade.settlement', { ...r.body, exergy: { ...r.body.exergy, gridConnect: { ...r.body.exergy.gridConnect, state: 'ride-through' } } }, producer)
    expect(checkTradeSettlement(grid, i)).toMatchObject({ ok: false, reason: 'payload-mismatch' })
    const foreign = readings(key(9), T0, [0, 1, 2, 3].map(e => ({ importWh: 0, exportWh: e }))).map(x => x.record)
    expect(checkTradeSettlement(signed, { ...i, producerReadings: foreign })).toMatchObject({ ok: false, reason: 'meter-mismatch' })
    expect(checkTradeSettlement(signed, { ...i, buyerReadings: i.buyerReadings.slice(0, 2) })).toMatchObject({ ok: false, reason: 'missing-readings' })
  })
})

// ---- certificates ---------------------------------------------------------------------------

function certificateFor (quantityWh: number, nonce: string, over: { producerBlockWh?: number, from?: number } = {}): Verified<'trade.certificate'> {
  const i = inputs({ ...chain(quantityWh, nonce), producerBlockWh: over.producerBlockWh ?? quantityWh, buyerBlockWh: quantityWh })
  const r = computeTradeSettlement(i)
  if (!r.ok) throw new Error(r.detail)
  const settlement = signRecord('trade.settlement', r.body, producer)
  const body = certificateOf(settlement, block.end + 3 * MIN)
  return signRecord('trade.certificate', over.from === undefined ? body : { ...body, interval: { ...body.interval, from: over.from } }, producer)
}

describe('energy attribute certificates', () => {
  it('partial fills of one block may share its interval up to its export', () => {
    const a = certificateFor(4_000, '2'.repeat(32), { producerBlockWh: 10_000 })
    const b = certificateFor(6_000, '3'.repeat(32), { producerBlockWh: 10_000 })
    expect(certificateConflict(a, b)).toBeUndefined()
    expect(certificationFaults([a, b])).toEqual([])
  })

  it('detects a metered interval certified twice, by anyone holding both', () => {
    const a = certificateFor(4_000, '2'.repeat(32), { producerBlockWh: 6_000 })
    const b = certificateFor(4_000, '3'.repeat(32), { producerBlockWh: 6_000 })
    // Each states the block as sold 6,000 Wh: two sales of 4,000 Wh say otherwise.
    expect(certificateConflict(a, b)?.kind).toBe('understated-sales')
    expect(certificateConflict(a, certificateFor(2_000, '7'.repeat(32), { producerBlockWh: 10_000 }))?.kind).toBe('inconsistent-interval')
    const c = certificateFor(6_000, '4'.repeat(32), { producerBlockWh: 10_000 })
    const d = certificateFor(6_000, '5'.repeat(32), { producerBlockWh: 10_000 })
    expect(certificateConflict(c, d)?.kind).toBe('over-certified')
    expect(certificationFaults([c, d]).map(f => f.kind)).toEqual(['over-certified', 'over-certified'])
    const e = certificateFor(4_000, '6'.repeat(32), { from: T0 - 5 * MIN })
    expect(certificateConflict(c, e)?.kind).toBe('overlapping-intervals')
    const again = signRecord('trade.certificate', { ...c.record.body, issuedAt: c.record.body.issuedAt + 1 }, producer)
    expect(certificateConflict(c, again)?.kind).toBe('same-trade')
    expect(certificateConflict(c, c)).toBeUndefined()
  })

  it('the producer\'s registry refuses to sign a certificate that would certify energy twice', () => {
    const registry = new CertificateRegistry()
    const first = certificateFor(6_000, '4'.repeat(32), { producerBlockWh: 10_000 })
    expect(registry.refuse(first)).toBeUndefined()
    registry.add(first)
    expect(registry.refuse(certificateFor(4_000, '5'.repeat(32), { producerBlockWh: 10_000 }))).toBeUndefined()
    expect(registry.refuse(certificateFor(6_000, '6'.repeat(32), { producerBlockWh: 10_000 }))?.kind).toBe('over-certified')
    expect(registry.refuse(signRecord('trade.certificate', { ...first.record.body, issuedAt: 1 }, producer))?.kind).toBe('same-trade')
  })

  it('two retirements of one certificate are detectable', () => {
    const c = certificateFor(6_000, '4'.repeat(32))
    const r1 = signRecord('trade.retirement', { certificate: c.id, producer: producer.id, by: buyer.id, purpose: 'consumption', issuedAt: T0 + HOUR }, buyer)
    const r2 = signRecord('trade.retirement', { ...r1.record.body, issuedAt: T0 + 2 * HOUR }, buyer)
    expect(retirementConflict(r1, r1)).toBeUndefined()
    expect(retirementConflict(r1, r2)).toMatch(/retired twice/)
  })
})

const HOUR = 3_600_000

// ---- EV smart charging ------------------------------------------------------------------------

describe('EV charging plan (seed 002 [0153])', () => {
  const day = Date.UTC(2026, 10, 22)
  it('converts miles with the stated efficiency and finds the session', () => {
    expect(milesToWh(50, 35)).toBe(14_286)
    expect(milesToWh(200, 35)).toBe(57_143)
    expect(sessionAt('03:00', '06:00', day + 2 * HOUR)).toEqual({ start: day + 3 * HOUR, end: day + 6 * HOUR })
    expect(sessionAt('03:00', '06:00', day + 4 * HOUR)).toEqual({ start: day + 3 * HOUR, end: day + 6 * HOUR })
    expect(sessionAt('03:00', '06:00', day + 7 * HOUR)).toEqual({ start: day + 27 * HOUR, end: day + 30 * HOUR })
    expect(sessionAt('22:00', '06:00', day + 23 * HOUR)).toEqual({ start: day + 22 * HOUR, end: day + 30 * HOUR })
  })

  it('50 miles by 6 AM at 5 kW from 3 AM: stored energy first, then the cheaper offer, the utility last and latest', () => {
    const base = { needWh: milesToWh(50, 35), session: { start: day + 3 * HOUR, end: day + 6 * HOUR }, maxW: 5000, blockMs: HOUR, now: day + 2 * HOUR, purchases: [], gridWh: new Map<number, number>(), gridRate: 18_000, preferStoredBp: 1000 }
    const offers = [
      { offer: 'battery', producer: 'p1', block: { start: day + 3 * HOUR, end: day + 4 * HOUR }, availableWh: 6_000, lossPm: 5, rate: 9_000, stored: true },
      { offer: 'wind', producer: 'p2', block: { start: day + 4 * HOUR, end: day + 5 * HOUR }, availableWh: 3_000, lossPm: 14, rate: 8_500, stored: false },
      { offer: 'dear', producer: 'p3', block: { start: day + 5 * HOUR, end: day + 6 * HOUR }, availableWh: 9_000, lossPm: 5, rate: 25_000, stored: false }
    ]
    const plan = planCharging({ ...base, offers })
    expect(plan.feasible).toBe(true)
    expect(plan.coveredWh).toBe(14_286)
    // The stored offer ranks 8,100 (10% preferred) before wind's 8,500: it fills the 5,000 Wh the 3 AM hour can take.
    expect(plan.accept).toEqual([
      { offer: 'battery', quantityWh: 5_026, receivedWh: 5_000 },
      { offer: 'wind', quantityWh: 3_000, receivedWh: Number(afterLoss(3_000n, 14)) }
    ])
    const [h3, h4, h5] = plan.blocks
    expect(h3!.chargeWh).toBe(5_000)
    expect(h5!.gridWh).toBe(5_000)
    expect(h4!.gridWh).toBe(14_286 - 5_000 - h4!.purchases[0]!.receivedWh - 5_000)
    expect(h5!.purchases).toEqual([])
    expect(plan.costMinor.total).toBe(plan.costMinor.offers + plan.costMinor.grid)
    expect(plan.costMinor.offers).toBe(Math.floor(5_000 * 9_000 / 1e6) + Math.floor(h4!.purchases[0]!.receivedWh * 8_500 / 1e6))
  })

  it('a confirmed purchase is kept, utility energy committed stays, and a need beyond the charger is infeasible', () => {
    const session = { start: day + HOUR, end: day + 6 * HOUR }
    const plan = planCharging({
      needWh: milesToWh(200, 35), session, maxW: 11_000, blockMs: HOUR, now: day + 3 * HOUR + 1, gridRate: 18_000, preferStoredBp: 0, offers: [],
      purchases: [{ trade: 't', producer: 'p', block: { start: day + HOUR, end: day + 2 * HOUR }, receivedWh: 9_000, rate: 7_000 }],
      gridWh: new Map([[day + 2 * HOUR, 11_000], [day + 3 * HOUR, 4_000]])
    })
    expect(plan.feasible).toBe(false)
    expect(plan.coveredWh).toBe(9_000 + 11_000 + 4_000 + 2 * 11_000)
    expect(plan.blocks.map(b => b.gridWh)).toEqual([0, 11_000, 4_000, 11_000, 11_000])
  })
})

describe('buyer filters', () => {
  const policy = { loadCoupling: { class: 'consumed' as const }, maxRate: { currency: 'USD', rate: 10_000 }, premiums: { rideThroughBp: 0, islandedBp: 0 }, filters: { zeroCarbonOnly: true, sameFeederOnly: true, maxLossPm: 20 } }
  const here = at('feeder-1', 'b', 37_771_000, -122_421_000)
  it('takes a zero-carbon offer on its feeder at its price, and names why it refuses others', () => {
    expect(offerMismatch(offerBody(), policy, here)).toBeUndefined()
    expect(offerMismatch(offerBody({ price: { currency: 'USD', rate: 10_001 } }), policy, here)).toBe('price')
    expect(offerMismatch(offerBody({ generation: { carbonClass: 'medium' } }), policy, here)).toBe('carbon')
    expect(offerMismatch(offerBody({ forCoupling: { class: 'stored', subclass: 'ev' } }), policy, here)).toBe('coupling')
    expect(offerMismatch(offerBody(), policy, { ...here, feeder: 'feeder-2' })).toBe('feeder')
    expect(offerMismatch(offerBody(), { ...policy, filters: { maxLossPm: 5 } }, here)).toBe('loss')
    expect(offerMismatch(offerBody(), { ...policy, filters: { rideThrough: ['II'] } }, here)).toBe('ride-through')
  })
})

describe('trade bundle', () => {
  it('verifies offline, and a changed reading or a missing countersignature is found', () => {
    const i = inputs()
    const r = computeTradeSettlement(i)
    if (!r.ok) throw new Error(r.detail)
    const settlement = countersign(signRecord('trade.settlement', r.body, producer), buyer)
    const certificate = countersign(signRecord('trade.certificate', certificateOf(settlement, block.end + 3 * MIN), producer), buyer)
    const records = [i.offer, i.acceptance, i.confirmation, settlement, certificate]
    const bundle = makeTradeBundle(i.acceptance.id, records, i.producerReadings as never, i.buyerReadings as never, [], buyer.id, block.end + HOUR)
    const verdict = verifyTradeBundle(JSON.parse(JSON.stringify(bundle)))
    expect(verdict).toMatchObject({ ok: true, summary: { status: 'settled', kind: 'energy-trade', receivedWh: r.body.receivedWh, gridConnect: 'parallel', certificate: certificate.id, retired: false } })
    const tampered = structuredClone(bundle)
    ;(tampered.buyerReadings[2]!.body as { importWh: number }).importWh += 1
    expect(verifyTradeBundle(tampered)).toMatchObject({ ok: false })
    const unsigned = makeTradeBundle(i.acceptance.id, [i.offer, i.acceptance, i.confirmation, signRecord('trade.settlement', r.body, producer)], i.producerReadings as never, i.buyerReadings as never, [], buyer.id, 0)
    expect(verifyTradeBundle(unsigned)).toEqual({ ok: false, fault: 'the settlement is not countersigned' })
  })
})
