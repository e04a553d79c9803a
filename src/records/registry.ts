// Every record type: its body schema, who must sign it (in order), and the checks a schema
// cannot express. Adding a record type means adding one entry here and one schema file.
import type { TSchema, Static } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { AcceptanceBody, CommitmentBody, DisputeBody, ExpiryBody, FilledBody, RejectionBody, RequestBody, SettlementBody, SignalBody } from './grid-schemas.js'
import { ReadingBody } from './meter-schemas.js'
import { AccreditationBody, FrameworkBody, GovernanceBody, ProfileBody, RevocationBody, TariffBody } from './credential-schemas.js'
import type { Window } from './common-schemas.js'
import { BidBody, CertificateBody, ConfirmationBody, OfferBody, RetirementBody, TradeAcceptanceBody, TradeDisputeBody, TradeRefusalBody, TradeSettlementBody, blockProblem, couplingProblem, expiryProblem, generationProblem, payloadProblem } from './trade-schemas.js'

interface Spec<S extends TSchema> {
  schema: S
  /** Parties whose signatures a complete record carries, in signing order. */
  signers: (body: Static<S>) => string[]
  /** How many of those signatures a record needs to be accepted at all (settlement: 1 before countersign). */
  minSignatures: number
  check?: (body: Static<S>) => string | undefined
}

const windowCheck = (w: Window): string | undefined => w.end > w.start ? undefined : 'window.end must be after window.start'

export const recordSpecs = {
  'grid.request': {
    schema: RequestBody,
    signers: (b) => [b.requester],
    minSignatures: 1,
    check: (b) => windowCheck(b.window) ?? (b.expiresAt > b.issuedAt ? undefined : 'expiresAt must be after issuedAt')
  } satisfies Spec<typeof RequestBody>,
  'grid.commitment': {
    schema: CommitmentBody,
    signers: (b) => [b.provider],
    minSignatures: 1,
    check: (b) => windowCheck(b.window)
  } satisfies Spec<typeof CommitmentBody>,
  'grid.acceptance': { schema: AcceptanceBody, signers: (b) => [b.requester], minSignatures: 1 } satisfies Spec<typeof AcceptanceBody>,
  'grid.rejection': { schema: RejectionBody, signers: (b) => [b.requester], minSignatures: 1 } satisfies Spec<typeof RejectionBody>,
  'grid.filled': {
    schema: FilledBody,
    signers: (b) => [b.requester],
    minSignatures: 1,
    check: (b) => b.expiresAt > b.issuedAt ? undefined : 'expiresAt must be after issuedAt'
  } satisfies Spec<typeof FilledBody>,
  'grid.signal': { schema: SignalBody, signers: (b) => [b.requester], minSignatures: 1 } satisfies Spec<typeof SignalBody>,
  'meter.reading': { schema: ReadingBody, signers: (b) => [b.meter], minSignatures: 1 } satisfies Spec<typeof ReadingBody>,
  'grid.settlement': {
    schema: SettlementBody,
    signers: (b) => [b.provider, b.requester],
    minSignatures: 1,
    check: (b) => windowCheck(b.window) ??
      (b.telemetry.to > b.telemetry.from ? undefined : 'telemetry.to must be after telemetry.from') ??
      (b.telemetry.lastSeq - b.telemetry.firstSeq + 1 === b.telemetry.count ? undefined : 'telemetry.count must equal lastSeq - firstSeq + 1')
  } satisfies Spec<typeof SettlementBody>,
  'grid.dispute': { schema: DisputeBody, signers: (b) => [b.by], minSignatures: 1 } satisfies Spec<typeof DisputeBody>,
  'grid.expiry': { schema: ExpiryBody, signers: (b) => [b.by], minSignatures: 1 } satisfies Spec<typeof ExpiryBody>,
  'party.profile': { schema: ProfileBody, signers: (b) => [b.party], minSignatures: 1 } satisfies Spec<typeof ProfileBody>,
  'credential.accreditation': {
    schema: AccreditationBody,
    signers: (b) => [b.accreditor],
    minSignatures: 1,
    check: (b) => b.expiresAt > b.notBefore ? (b.kind === 'meter-certification' && b.meter === undefined ? 'a meter certification names the meter key' : undefined) : 'expiresAt must be after notBefore'
  } satisfies Spec<typeof AccreditationBody>,
  'credential.revocation': { schema: RevocationBody, signers: (b) => [b.accreditor], minSignatures: 1 } satisfies Spec<typeof RevocationBody>,
  'market.governance': { schema: GovernanceBody, signers: (b) => [b.operator], minSignatures: 1 } satisfies Spec<typeof GovernanceBody>,
  'market.tariff': {
    schema: TariffBody,
    signers: (b) => [b.issuer],
    minSignatures: 1,
    check: (b) => b.validUntil > b.validFrom ? (b.price.mechanism === 'tariff' ? undefined : 'a tariff prices by the tariff mechanism') : 'validUntil must be after validFrom'
  } satisfies Spec<typeof TariffBody>,
  // Signed by both parties in advance; complete only with both signatures.
  'market.framework': {
    schema: FrameworkBody,
    signers: (b) => [b.requester, b.provider],
    minSignatures: 2,
    check: (b) => b.validUntil > b.validFrom ? (b.price.mechanism === 'framework' ? undefined : 'a framework agreement prices by the framework mechanism') : 'validUntil must be after validFrom'
  } satisfies Spec<typeof FrameworkBody>,
  // Peer-to-peer energy trade (protocols/trade.md).
  'trade.offer': {
    schema: OfferBody,
    signers: (b) => [b.producer],
    minSignatures: 1,
    check: (b) => blockProblem(b.block) ?? expiryProblem(b) ?? generationProblem(b.generation) ?? couplingProblem(b.forCoupling)
  } satisfies Spec<typeof OfferBody>,
  'trade.bid': {
    schema: BidBody,
    signers: (b) => [b.buyer],
    minSignatures: 1,
    check: (b) => blockProblem(b.block) ?? expiryProblem(b) ?? couplingProblem(b.loadCoupling)
  } satisfies Spec<typeof BidBody>,
  'trade.acceptance': {
    schema: TradeAcceptanceBody,
    signers: (b) => [b.buyer],
    minSignatures: 1,
    check: (b) => blockProblem(b.block) ?? couplingProblem(b.loadCoupling)
  } satisfies Spec<typeof TradeAcceptanceBody>,
  'trade.confirmation': { schema: ConfirmationBody, signers: (b) => [b.producer], minSignatures: 1 } satisfies Spec<typeof ConfirmationBody>,
  'trade.refusal': { schema: TradeRefusalBody, signers: (b) => [b.producer], minSignatures: 1 } satisfies Spec<typeof TradeRefusalBody>,
  // Signed by the producer, countersigned by the buyer, like grid.settlement.
  'trade.settlement': {
    schema: TradeSettlementBody,
    signers: (b) => [b.producer, b.buyer],
    minSignatures: 1,
    check: (b) => blockProblem(b.block) ?? payloadProblem(b.exergy) ??
      (b.receivedWh + b.lossWh === b.deliveredWh ? undefined : 'receivedWh + lossWh must equal deliveredWh')
  } satisfies Spec<typeof TradeSettlementBody>,
  'trade.certificate': {
    schema: CertificateBody,
    signers: (b) => [b.producer, b.buyer],
    minSignatures: 1,
    check: (b) => (b.interval.to > b.interval.from ? undefined : 'interval.to must be after interval.from') ?? payloadProblem(b.exergy)
  } satisfies Spec<typeof CertificateBody>,
  'trade.dispute': { schema: TradeDisputeBody, signers: (b) => [b.by], minSignatures: 1 } satisfies Spec<typeof TradeDisputeBody>,
  'trade.retirement': { schema: RetirementBody, signers: (b) => [b.by], minSignatures: 1 } satisfies Spec<typeof RetirementBody>
} as const

export type RecordSpecs = typeof recordSpecs
export type RecordType = keyof RecordSpecs
export type BodyOf<T extends RecordType> = Static<RecordSpecs[T]['schema']>

export const recordTypes = Object.keys(recordSpecs) as RecordType[]

const compiled = new Map<RecordType, TypeCheck<TSchema>>(
  recordTypes.map(t => [t, TypeCompiler.Compile(recordSpecs[t].schema as TSchema)])
)

export function bodyChecker (type: RecordType): TypeCheck<TSchema> {
  return compiled.get(type) as TypeCheck<TSchema>
}

export function isRecordType (type: string): type is RecordType {
  return Object.hasOwn(recordSpecs, type)
}
