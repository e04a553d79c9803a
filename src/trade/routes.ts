// The control API's trade routes: publish offers and bids, accept offers, list trades, export
// trade bundles, retire certificates, read the net position. Operator input, schema-checked.
import { Type } from '@sinclair/typebox'
import { HttpError, validated, type Route } from '../node/control.js'
import type { PairgridNode } from '../node/node.js'
import { RecordId, Ref, Time } from '../records/common-schemas.js'
import { LoadCoupling, TradePrice } from '../records/trade-schemas.js'
import { TradeError } from './context.js'
import type { TradeService } from './service.js'

const Block = Type.Object({ start: Time, minutes: Type.Union([Type.Literal(5), Type.Literal(15), Type.Literal(60)]) }, { additionalProperties: false })
const Quantity = Type.Integer({ minimum: 1, maximum: 1_000_000_000 })

export const PublishOfferInput = Type.Object({
  marketplace: Ref, block: Block, quantityWh: Quantity, price: TradePrice, forCoupling: Type.Optional(LoadCoupling), expiresAt: Type.Optional(Time)
}, { additionalProperties: false })
export const PublishBidInput = Type.Object({
  marketplace: Ref, block: Block, quantityWh: Quantity, price: TradePrice, zeroCarbonOnly: Type.Boolean(), sameFeederOnly: Type.Boolean(), expiresAt: Type.Optional(Time)
}, { additionalProperties: false })
export const AcceptOfferInput = Type.Object({ offer: RecordId, quantityWh: Quantity }, { additionalProperties: false })

const NOT_FOUND = new Set(['unknown-offer', 'unknown-certificate'])
const BAD_INPUT = new Set(['bad-block', 'bad-offer', 'bad-bid', 'bad-acceptance', 'block-started', 'expired', 'not-a-member', 'overlapping-block'])

/** A TradeError as the HTTP status its code means; anything else passes through. */
async function answering<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (!(err instanceof TradeError)) throw err
    throw new HttpError(NOT_FOUND.has(err.code) ? 404 : BAD_INPUT.has(err.code) ? 400 : 409, `${err.code}: ${err.message}`)
  }
}

const blockOf = (b: { start: number, minutes: number }): { start: number, end: number } => ({ start: b.start, end: b.start + b.minutes * 60_000 })

export function tradeRoutes (node: PairgridNode): Record<string, Route> {
  const trade = (): TradeService => {
    if (node.trade === undefined) throw new HttpError(503, 'trade is not running on this node')
    return node.trade
  }
  return {
    'GET /v1/trade/status': async () => trade().status(),
    'GET /v1/trade/offers': async () => [...trade().book.offers.values()].map(o => ({ id: o.id, ...o.record.body })),
    'POST /v1/trade/offers': validated(PublishOfferInput, async (input) => await answering(async () => {
      const producer = trade().producer
      if (producer === undefined) throw new TradeError('not-a-producer', 'this node has no meter or no producer nameplate (trade.json "producer")')
      const offer = await producer.publish({ ...input, block: blockOf(input.block) })
      return { id: offer.id, offer: offer.record }
    })),
    'POST /v1/trade/bids': validated(PublishBidInput, async (input) => await answering(async () => {
      const bid = await trade().publishBid({ ...input, block: blockOf(input.block) })
      return { id: bid.id, bid: bid.record }
    })),
    'POST /v1/trade/accept': validated(AcceptOfferInput, async (input) => await answering(async () => {
      const buyer = trade().buyer
      if (buyer === undefined) throw new TradeError('not-a-buyer', 'this node has no meter or no buyer policy (trade.json "buyer")')
      const answer = await buyer.accept(input.offer, input.quantityWh)
      return { trade: answer.record.body.acceptance, answer: answer.record }
    })),
    'GET /v1/trade/trades': async () => trade().trades(),
    'GET /v1/trade/trades/:id/bundle': async ({ params }) => {
      const bundle = await trade().bundle(params.id!)
      if (bundle === undefined) throw new HttpError(404, `no trade ${params.id}`)
      return bundle
    },
    'POST /v1/trade/certificates/:id/retire': async ({ params }) => await answering(async () => {
      const buyer = trade().buyer
      if (buyer === undefined) throw new TradeError('not-a-buyer', 'only a buyer holds certificates')
      const retirement = await buyer.retire(params.id!)
      return { id: retirement.id, retirement: retirement.record }
    }),
    'GET /v1/trade/position': async () => trade().position()
  }
}
