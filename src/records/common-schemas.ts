// Building blocks shared by record schemas. Every number on the wire is a bounded integer.
import { Type, type Static } from '@sinclair/typebox'

export const MAX_TIME = 253402300799999 // 9999-12-31T23:59:59.999Z
export const PartyId = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'base64url (no padding) of a raw 32-byte Ed25519 public key' })
export const RecordId = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'lowercase hex SHA-256 of a record\'s canonical unsigned form' })
export const Hash = Type.String({ pattern: '^[0-9a-f]{64}$' })
export const Time = Type.Integer({ minimum: 0, maximum: MAX_TIME, description: 'milliseconds since the Unix epoch (UTC)' })
export const Ref = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$', description: 'an identifier: marketplace, settlement method, tariff, agreement' })
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' })
export const Detail = Type.String({ maxLength: 512 })
export const Nonce = Type.String({ pattern: '^[0-9a-f]{32}$' })

export const ServiceType = Type.Union([
  Type.Literal('frequency-regulation'),
  Type.Literal('demand-response'),
  Type.Literal('peak-shaving'),
  Type.Literal('voltage-support'),
  Type.Literal('reactive-power')
])
export type ServiceType = Static<typeof ServiceType>

export const QuantityUnit = Type.Union([Type.Literal('W'), Type.Literal('var'), Type.Literal('Wh'), Type.Literal('varh')])

export const Quantity = Type.Object({
  value: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }),
  unit: QuantityUnit
}, { additionalProperties: false })
export type Quantity = Static<typeof Quantity>

export const Window = Type.Object({
  start: Time,
  end: Time
}, { additionalProperties: false, description: 'half-open interval [start, end); end > start is checked after schema validation' })
export type Window = Static<typeof Window>

export const PriceMechanism = Type.Union([Type.Literal('tariff'), Type.Literal('framework'), Type.Literal('auction')])
export type PriceMechanism = Static<typeof PriceMechanism>

export const Price = Type.Object({
  mechanism: PriceMechanism,
  reference: Ref,
  currency: Currency,
  rate: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000, description: 'minor currency units per rateUnit' }),
  rateUnit: Type.Union([Type.Literal('MWh'), Type.Literal('Mvarh')])
}, { additionalProperties: false })
export type Price = Static<typeof Price>

export const Amount = Type.Object({
  minor: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  currency: Currency
}, { additionalProperties: false })
export type Amount = Static<typeof Amount>
