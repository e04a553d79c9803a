// The EV site's smart charger: keeps a least-cost plan for the session's need (ev-plan.ts) over
// the offers its buyer policy admits, accepts the offers the plan takes, and draws in each block
// what it bought for it plus the utility energy the plan commits when the block begins.
import type { Location } from '../records/trade-schemas.js'
import { ownLocation, type TradeContext } from './context.js'
import type { Buyer } from './buyer.js'
import type { EvNeed } from './policy.js'
import { offerMismatch } from './filters.js'
import { lossEstimate, afterLoss } from './proximity.js'
import { milesToWh, planCharging, sessionAt, type Candidate, type Plan, type PlanInput, type Purchase } from './ev-plan.js'

const H = 3_600_000

interface ChargerState { gridWh: Array<[number, number]> }

export class EvCharging {
  /** Utility energy committed to blocks that have begun, by block start. */
  private readonly gridWh = new Map<number, number>()
  /** Offers the producer refused us, or that failed: not planned again. */
  private readonly excluded = new Set<string>()
  /** What a sold-out refusal said remains of an offer. */
  private readonly remainingHint = new Map<string, number>()
  private readonly blockW = new Map<number, number>()
  private planning: Promise<void> | undefined
  private again = false
  private last: Plan | undefined

  constructor (private readonly ctx: TradeContext, private readonly buyer: Buyer, readonly need: EvNeed, restored: unknown) {
    for (const [start, wh] of (restored as ChargerState | undefined)?.gridWh ?? []) this.gridWh.set(start, wh)
  }

  get needWh (): number { return milesToWh(this.need.miles, this.need.milesPerKWhX10) }
  private get blockMs (): number { return this.need.blockMinutes * 60_000 }

  state (): ChargerState { return { gridWh: [...this.gridWh] } }

  private inputs (now: number, location: Location): PlanInput {
    const { ctx } = this
    const session = sessionAt(this.need.arrival, this.need.departure, now)
    const inSession = (b: { start: number, end: number }): boolean => b.start >= session.start && b.end <= session.end
    const purchases: Purchase[] = []
    const mine = new Set<string>()
    for (const t of ctx.book.trades.values()) {
      const a = t.acceptance.record.body
      if (a.buyer !== ctx.keys.id || a.buyerMeter !== this.buyer.meter.id || t.answer?.record.type === 'trade.refusal' || !inSession(a.block)) continue
      mine.add(a.offer)
      const offer = ctx.book.offers.get(a.offer)
      if (offer === undefined) continue
      // Unanswered acceptances count too: they may still be confirmed.
      purchases.push({ trade: t.id, producer: a.producer, block: a.block, receivedWh: Number(afterLoss(BigInt(a.quantityWh), lossEstimate(offer.record.body.deliveryPoint, location).lossPm)), rate: a.price.rate })
    }
    const offers: Candidate[] = []
    for (const offer of ctx.book.offers.values()) {
      const o = offer.record.body
      if (o.producer === ctx.keys.id || mine.has(offer.id) || this.excluded.has(offer.id) || o.expiresAt <= now || !ctx.marketplaces.includes(o.marketplace) || !inSession(o.block)) continue
      if (offerMismatch(o, this.buyer.policy, location) !== undefined) continue
      offers.push({ offer: offer.id, producer: o.producer, block: o.block, availableWh: Math.min(o.quantityWh, this.remainingHint.get(offer.id) ?? o.quantityWh), lossPm: lossEstimate(o.deliveryPoint, location).lossPm, rate: o.price.rate, stored: o.forCoupling?.class === 'stored' })
    }
    return { needWh: this.needWh, session, maxW: this.need.maxW, blockMs: this.blockMs, now, purchases, gridWh: this.gridWh, offers, gridRate: this.need.gridRate.rate, preferStoredBp: this.need.preferStoredBp }
  }

  /** Re-plans and accepts what the plan takes; calls during a run make it run once more. */
  replan (): void {
    if (this.planning !== undefined) { this.again = true; return }
    this.planning = this.run().finally(() => { this.planning = undefined })
  }

  private async run (): Promise<void> {
    const { ctx } = this
    do {
      this.again = false
      const location = ownLocation(ctx)
      if (location === undefined) return
      const plan = planCharging(this.inputs(ctx.clock.now(), location))
      this.last = plan
      for (const a of plan.accept) {
        try {
          const answer = await this.buyer.accept(a.offer, a.quantityWh)
          if (answer.record.type === 'trade.refusal') {
            const r = answer.record.body
            if (r.reason === 'sold-out' && r.remainingWh > 0) this.remainingHint.set(a.offer, r.remainingWh)
            else this.excluded.add(a.offer)
            this.again = true
          }
        } catch (err) {
          this.excluded.add(a.offer)
          ctx.logger.warn({ offer: a.offer, err: (err as Error).message }, 'EV plan could not accept an offer')
        }
      }
      this.blockW.clear()
    } while (this.again)
  }

  /**
   * The charger's draw at `t`, fixed when its block begins: what was bought for the block plus the
   * utility energy the plan then needs in it (committed, so the draw never changes within a block).
   */
  chargeW (t: number): number {
    const start = Math.floor(t / this.blockMs) * this.blockMs
    const known = this.blockW.get(start)
    if (known !== undefined) return known
    const location = ownLocation(this.ctx)
    if (location === undefined) return 0
    const session = sessionAt(this.need.arrival, this.need.departure, t)
    if (start < session.start || start + this.blockMs > session.end) return 0
    const inputs = this.inputs(start, location)
    if (!this.gridWh.has(start)) this.gridWh.set(start, planCharging(inputs).blocks.find(b => b.start === start)?.gridWh ?? 0)
    const bought = inputs.purchases.filter(p => p.block.start === start).reduce((s, p) => s + p.receivedWh, 0)
    const w = Math.min(this.need.maxW, Math.floor((bought + this.gridWh.get(start)!) * H / this.blockMs))
    this.blockW.set(start, w)
    return w
  }

  status (): Record<string, unknown> {
    const location = ownLocation(this.ctx)
    const now = this.ctx.clock.now()
    const plan = location === undefined ? this.last : planCharging(this.inputs(now, location))
    return {
      session: sessionAt(this.need.arrival, this.need.departure, now),
      miles: this.need.miles,
      needWh: this.needWh,
      plan: plan === undefined ? undefined : { ...plan, blocks: plan.blocks.filter(b => b.chargeWh > 0) },
      currency: this.need.gridRate.currency
    }
  }
}
