// Bodies of the four-step grid-service records (seed 000). The envelope around them is in envelope.ts.
import { Type, type Static } from '@sinclair/typebox'
import { Amount, Detail, Hash, Nonce, PartyId, Price, Quantity, RecordId, Ref, ServiceType, Time, Window } from './common-schemas.js'

export const RequestBody = Type.Object({
  marketplace: Ref,
  requester: PartyId,
  service: ServiceType,
  window: Window,
  quantity: Quantity,
  price: Price,
  settlementMethod: Ref,
  settlementIntervalMs: Type.Integer({ minimum: 60_000, maximum: 31 * 24 * 3_600_000 }),
  toleranceBp: Type.Integer({ minimum: 0, maximum: 10_000, description: 'allowed shortfall of executed against committed, in basis points' }),
  nonce: Nonce,
  issuedAt: Time,
  expiresAt: Time
}, { additionalProperties: false })
export type RequestBody = Static<typeof RequestBody>

// The requester's notice on the request topic that a first-come request has no quantity left:
// providers still waiting to decide it need not commit only to be refused `filled`. Advisory:
// it decides nothing (every commitment still gets its own signed answer) and is not logged.
export const FilledBody = Type.Object({
  request: RecordId,
  marketplace: Ref,
  requester: PartyId,
  issuedAt: Time,
  /** the request's: the notice matters no longer than the request does */
  expiresAt: Time
}, { additionalProperties: false })
export type FilledBody = Static<typeof FilledBody>

export const CommitmentBody = Type.Object({
  request: RecordId,
  marketplace: Ref,
  requester: PartyId,
  provider: PartyId,
  service: ServiceType,
  window: Window,
  quantity: Quantity,
  price: Price,
  settlementMethod: Ref,
  meter: PartyId,
  elements: Type.Array(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }), { minItems: 1, maxItems: 64 }),
  issuedAt: Time
}, { additionalProperties: false })
export type CommitmentBody = Static<typeof CommitmentBody>

export const AcceptanceBody = Type.Object({
  commitment: RecordId,
  request: RecordId,
  requester: PartyId,
  provider: PartyId,
  /** Auctions: the clearing price the transaction settles at (the commitment carries the bid). */
  price: Type.Optional(Price),
  issuedAt: Time
}, { additionalProperties: false })
export type AcceptanceBody = Static<typeof AcceptanceBody>

export const RejectionReason = Type.Union([
  Type.Literal('filled'),
  Type.Literal('expired'),
  Type.Literal('window-passed'),
  Type.Literal('inconsistent-terms'),
  Type.Literal('unknown-request'),
  Type.Literal('not-admitted'),
  Type.Literal('below-minimum-bid'),
  Type.Literal('equivocation'),
  Type.Literal('auction-lost')
])
export type RejectionReason = Static<typeof RejectionReason>

export const RejectionBody = Type.Object({
  commitment: RecordId,
  request: RecordId,
  requester: PartyId,
  provider: PartyId,
  reason: RejectionReason,
  detail: Detail,
  issuedAt: Time
}, { additionalProperties: false })
export type RejectionBody = Static<typeof RejectionBody>

export const Telemetry = Type.Object({
  meter: PartyId,
  from: Time,
  to: Time,
  count: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  firstSeq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  lastSeq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  root: Hash
}, { additionalProperties: false, description: 'root = RFC 9162 Merkle root over the record ids of the readings, in seq order' })
export type Telemetry = Static<typeof Telemetry>

// One regulation setpoint of the requester's signal (frequency regulation), every 2 s over the
// window; applies to [t, t + 2 s).
export const SignalBody = Type.Object({
  commitment: RecordId,
  requester: PartyId,
  provider: PartyId,
  seq: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  t: Time,
  setpointPm: Type.Integer({ minimum: -1000, maximum: 1000, description: 'per mille of the committed capacity; positive = reduce net import' })
}, { additionalProperties: false })
export type SignalBody = Static<typeof SignalBody>

export const Digest = Type.Object({
  count: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  root: Hash
}, { additionalProperties: false, description: 'RFC 9162 Merkle root over record ids, in seq order' })

export const Checkpoint = Type.Object({
  size: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  root: Hash
}, { additionalProperties: false, description: 'a log checkpoint: its entry count and RFC 9162 root' })

export const SettlementBody = Type.Object({
  request: RecordId,
  commitment: RecordId,
  acceptance: RecordId,
  marketplace: Ref,
  requester: PartyId,
  provider: PartyId,
  service: ServiceType,
  window: Window,
  settlementMethod: Ref,
  committed: Quantity,
  baseline: Type.Integer({ minimum: -1_000_000_000_000, maximum: 1_000_000_000_000, description: 'baseline in the committed unit, as the settlement method defines it' }),
  executed: Type.Integer({ minimum: -1_000_000_000_000, maximum: 1_000_000_000_000, description: 'executed quantity in the committed unit' }),
  paidEnergy: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Wh or varh paid for' }),
  performance: Type.Integer({ minimum: 0, maximum: 1000, description: 'performance against the commitment, per mille, as the settlement method defines it' }),
  price: Price,
  amount: Amount,
  telemetry: Telemetry,
  signals: Type.Optional(Digest),
  ledger: Type.Object({ provider: Checkpoint, requester: Checkpoint }, { additionalProperties: false, description: 'both parties\' log checkpoints when the provider signed' }),
  issuedAt: Time
}, { additionalProperties: false })
export type SettlementBody = Static<typeof SettlementBody>

export const DisputeReason = Type.Union([
  Type.Literal('digest-mismatch'),
  Type.Literal('bad-reading'),
  Type.Literal('missing-readings'),
  Type.Literal('meter-mismatch'),
  Type.Literal('quantity-mismatch'),
  Type.Literal('amount-mismatch'),
  Type.Literal('under-delivery'),
  Type.Literal('terms-mismatch'),
  Type.Literal('telemetry-unavailable'),
  Type.Literal('bad-signal'),
  Type.Literal('equivocation'),
  Type.Literal('fork-detected'),
  Type.Literal('ledger-mismatch')
])
export type DisputeReason = Static<typeof DisputeReason>

export const DisputeBody = Type.Object({
  settlement: RecordId,
  commitment: RecordId,
  request: RecordId,
  by: PartyId,
  against: PartyId,
  reason: DisputeReason,
  detail: Detail,
  issuedAt: Time
}, { additionalProperties: false })
export type DisputeBody = Static<typeof DisputeBody>

// A party giving up on a transaction it cannot complete — signed, never silent: the provider
// when its commitment was never answered, or its settlement never countersigned; the requester
// when no settlement came.
export const ExpiryBody = Type.Object({
  commitment: RecordId,
  request: RecordId,
  by: PartyId,
  against: PartyId,
  stage: Type.Union([Type.Literal('unanswered'), Type.Literal('unsettled'), Type.Literal('uncountersigned')]),
  detail: Detail,
  issuedAt: Time
}, { additionalProperties: false })
export type ExpiryBody = Static<typeof ExpiryBody>
