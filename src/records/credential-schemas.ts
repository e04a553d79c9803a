// Bodies of identity and governance records: profiles, accreditations, revocations, marketplace
// governance documents, tariffs and framework agreements (seed 000: "the parties and the rules
// of engagement are credentialed but the matching, execution, and settlement are bilateral").
import { Type, type Static } from '@sinclair/typebox'
import { Detail, PartyId, Price, PriceMechanism, Quantity, RecordId, Ref, ServiceType, Time } from './common-schemas.js'

export const PartyKind = Type.Union([
  Type.Literal('distribution-utility'),
  Type.Literal('iso-rto'),
  Type.Literal('community-energy'),
  Type.Literal('peer-facility'),
  Type.Literal('building'),
  Type.Literal('ev-site')
])
export type PartyKind = Static<typeof PartyKind>

export const AccreditationKind = Type.Union([
  Type.Literal('operating-license'),
  Type.Literal('interconnection'),
  Type.Literal('dr-enrollment'),
  Type.Literal('meter-certification'),
  Type.Literal('market-qualification'),
  Type.Literal('community-membership')
])
export type AccreditationKind = Static<typeof AccreditationKind>

const Element = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
  kind: Type.Union([Type.Literal('battery-rack'), Type.Literal('hvac'), Type.Literal('ev-charger'), Type.Literal('inverter'), Type.Literal('pv')]),
  powerW: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
  energyWh: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
  var: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 }))
}, { additionalProperties: false })

/** The grid-commitment surface: aggregate bounds, and per element when fine-grained. */
export const Surface = Type.Object({
  granularity: Type.Union([Type.Literal('coarse'), Type.Literal('fine')]),
  energyWh: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
  continuousW: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
  peakW: Type.Integer({ minimum: 0, maximum: 2_000_000_000 }),
  peakDurationMs: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
  var: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
  reserveWh: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
  elements: Type.Array(Element, { maxItems: 64 })
}, { additionalProperties: false })
export type Surface = Static<typeof Surface>

/** Where a party connects: its distribution feeder and node, and coordinates in micro-degrees. */
export const Location = Type.Object({
  feeder: Ref,
  node: Ref,
  latE6: Type.Integer({ minimum: -90_000_000, maximum: 90_000_000 }),
  lonE6: Type.Integer({ minimum: -180_000_000, maximum: 180_000_000 })
}, { additionalProperties: false })
export type Location = Static<typeof Location>

export const ProfileBody = Type.Object({
  party: PartyId,
  kind: PartyKind,
  name: Type.String({ maxLength: 64 }),
  version: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  location: Location,
  surface: Type.Optional(Surface),
  services: Type.Array(Type.Object({
    service: ServiceType,
    responseMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
    settlementMethods: Type.Array(Ref, { minItems: 1, maxItems: 8 })
  }, { additionalProperties: false }), { maxItems: 8 }),
  meter: Type.Optional(PartyId),
  accreditations: Type.Array(RecordId, { maxItems: 32 }),
  issuedAt: Time
}, { additionalProperties: false })
export type ProfileBody = Static<typeof ProfileBody>

export const AccreditationBody = Type.Object({
  accreditor: PartyId,
  subject: PartyId,
  kind: AccreditationKind,
  /** The marketplace or program it is for, or `*` for any. */
  scope: Type.Union([Ref, Type.Literal('*')]),
  /** meter-certification binds this meter key to the subject. */
  meter: Type.Optional(PartyId),
  serial: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  notBefore: Time,
  expiresAt: Time,
  issuedAt: Time
}, { additionalProperties: false })
export type AccreditationBody = Static<typeof AccreditationBody>

export const RevocationBody = Type.Object({
  accreditor: PartyId,
  accreditation: RecordId,
  reason: Detail,
  issuedAt: Time
}, { additionalProperties: false })
export type RevocationBody = Static<typeof RevocationBody>

export const MarketAction = Type.Union([Type.Literal('request'), Type.Literal('provide'), Type.Literal('offer'), Type.Literal('buy')])
export type MarketAction = Static<typeof MarketAction>

export const GovernanceBody = Type.Object({
  operator: PartyId,
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,47}$' }),
  description: Type.String({ maxLength: 512 }),
  roles: Type.Array(Type.Object({
    kind: PartyKind,
    may: Type.Array(MarketAction, { minItems: 1, maxItems: 4 }),
    requires: Type.Array(AccreditationKind, { maxItems: 6 })
  }, { additionalProperties: false }), { minItems: 1, maxItems: 8 }),
  trustedAccreditors: Type.Array(Type.Object({ kind: AccreditationKind, accreditor: PartyId }, { additionalProperties: false }), { maxItems: 32 }),
  services: Type.Array(ServiceType, { maxItems: 5 }),
  settlementMethods: Type.Array(Ref, { maxItems: 16 }),
  settlementIntervalsMs: Type.Array(Type.Integer({ minimum: 60_000, maximum: 31 * 24 * 3_600_000 }), { minItems: 1, maxItems: 8 }),
  toleranceBp: Type.Integer({ minimum: 0, maximum: 10_000 }),
  priceMechanism: PriceMechanism,
  minimumBid: Quantity,
  issuedAt: Time
}, { additionalProperties: false })
export type GovernanceBody = Static<typeof GovernanceBody>

export const TariffBody = Type.Object({
  issuer: PartyId,
  marketplace: RecordId,
  reference: Ref,
  service: ServiceType,
  price: Price,
  validFrom: Time,
  validUntil: Time,
  issuedAt: Time
}, { additionalProperties: false })
export type TariffBody = Static<typeof TariffBody>

export const FrameworkBody = Type.Object({
  marketplace: RecordId,
  requester: PartyId,
  provider: PartyId,
  reference: Ref,
  services: Type.Array(ServiceType, { minItems: 1, maxItems: 5 }),
  price: Price,
  maxQuantity: Quantity,
  validFrom: Time,
  validUntil: Time,
  issuedAt: Time
}, { additionalProperties: false })
export type FrameworkBody = Static<typeof FrameworkBody>
