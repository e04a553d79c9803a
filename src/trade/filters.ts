// Which offers a buyer takes (its policy's filters over the offer's Exergy attributes and price)
// and which bids a producer answers. Each refusal names a stable reason that status counts.
import type { BidBody, LoadCoupling, Location, OfferBody } from '../records/trade-schemas.js'
import type { BuyerPolicy, ProducerPolicy } from './policy.js'
import { lossEstimate } from './proximity.js'

export type OfferMismatch = 'price' | 'coupling' | 'carbon' | 'generation' | 'feeder' | 'distance' | 'loss' | 'der-voltage' | 'ride-through' | 'producer'

/** An offer restricted to a coupling serves loads of that class (and subclass, if it names one). */
export function couplingFits (offered: LoadCoupling | undefined, load: LoadCoupling): boolean {
  return offered === undefined || (offered.class === load.class && (offered.subclass === undefined || offered.subclass === load.subclass))
}

export function offerMismatch (o: OfferBody, policy: BuyerPolicy, buyerAt: Location): OfferMismatch | undefined {
  const f = policy.filters
  if (o.price.currency !== policy.maxRate.currency || o.price.rate > policy.maxRate.rate) return 'price'
  if (!couplingFits(o.forCoupling, policy.loadCoupling)) return 'coupling'
  if (f.zeroCarbonOnly === true && o.generation.carbonClass !== 'zce') return 'carbon'
  if (f.zceSubclasses !== undefined && (o.generation.zceSubclass === undefined || !f.zceSubclasses.includes(o.generation.zceSubclass))) return 'generation'
  if (f.sameFeederOnly === true && o.deliveryPoint.feeder !== buyerAt.feeder) return 'feeder'
  const loss = lossEstimate(o.deliveryPoint, buyerAt)
  if (f.maxDistanceM !== undefined && loss.distanceM > f.maxDistanceM) return 'distance'
  if (f.maxLossPm !== undefined && loss.lossPm > f.maxLossPm) return 'loss'
  if (f.derVoltage !== undefined && !f.derVoltage.includes(o.derCategory.voltage)) return 'der-voltage'
  if (f.rideThrough !== undefined && !f.rideThrough.includes(o.derCategory.rideThrough)) return 'ride-through'
  if (f.producers !== undefined && !f.producers.includes(o.producer)) return 'producer'
  return undefined
}

export type BidMismatch = 'price' | 'carbon' | 'feeder'

export function bidMismatch (b: BidBody, policy: ProducerPolicy, producerAt: Location): BidMismatch | undefined {
  const min = policy.answerBids?.minRate
  if (min === undefined || b.price.currency !== min.currency || b.price.rate < min.rate) return 'price'
  if (b.zeroCarbonOnly && policy.nameplate.generation.carbonClass !== 'zce') return 'carbon'
  if (b.sameFeederOnly && b.deliveryPoint.feeder !== producerAt.feeder) return 'feeder'
  return undefined
}
