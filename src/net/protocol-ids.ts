// Stream protocol ids and gossip topic names; protocols/network.md is the normative list.
export const PROTOCOL_COMMIT = '/pairgrid/commit/1.0.0'
export const PROTOCOL_SETTLE = '/pairgrid/settle/1.0.0'
export const PROTOCOL_TELEMETRY = '/pairgrid/telemetry/1.0.0'

/** Peer → any party: its signed profile and accreditations. */
export const PROTOCOL_PROFILE = '/pairgrid/profile/1.0.0'
/** Requester → provider: a signed answer decided later (auctions close after the bids are in). */
export const PROTOCOL_ANSWER = '/pairgrid/answer/1.0.0'

/** Gossip topic of a marketplace's members' credentials. */
export function membersTopic (marketplace: string): string {
  return `/pairgrid/1/market/${marketplace}/members`
}

/** Gossip topic of a marketplace's service requests. */
export function requestTopic (marketplace: string): string {
  return `/pairgrid/1/market/${marketplace}/requests`
}
/** Requester → provider: the live regulation signal, one signed setpoint per message. */
export const PROTOCOL_REGULATION = '/pairgrid/regulation/1.0.0'
/** Provider → requester: the whole signed signal series of a commitment, for settlement. */
export const PROTOCOL_SIGNALS = '/pairgrid/signals/1.0.0'
/** Any party → any party: a log checkpoint with a consistency proof from one the asker holds. */
export const PROTOCOL_CHECKPOINT = '/pairgrid/checkpoint/1.0.0'

/** Gossip topic of a marketplace's energy offers and bids (peer-to-peer trade). */
export function offerTopic (marketplace: string): string {
  return `/pairgrid/1/market/${marketplace}/offers`
}
/** Buyer → producer: a signed acceptance of an offer, answered by a signed confirmation or refusal. */
export const PROTOCOL_TRADE_ACCEPT = '/pairgrid/trade-accept/1.0.0'
/** Producer → buyer: a trade settlement and its certificate, answered countersigned or by a dispute. */
export const PROTOCOL_TRADE_SETTLE = '/pairgrid/trade-settle/1.0.0'
/** Either party of a trade → the other: its meter's signed readings over the trade's block. */
export const PROTOCOL_TRADE_READINGS = '/pairgrid/trade-readings/1.0.0'
/** Buyer → producer: the signed retirement of a certificate. */
export const PROTOCOL_TRADE_RETIRE = '/pairgrid/trade-retire/1.0.0'
