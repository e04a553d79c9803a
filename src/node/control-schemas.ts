// Bodies the control API accepts: operator input crossing a trust boundary, so schema-checked.
import { Type, type Static } from '@sinclair/typebox'
import { Price, Quantity, Ref, ServiceType, Time } from '../records/common-schemas.js'

export const PublishRequestInput = Type.Object({
  marketplace: Ref,
  service: ServiceType,
  window: Type.Object({ start: Time, end: Time }, { additionalProperties: false }),
  quantity: Quantity,
  price: Price,
  settlementMethod: Ref,
  settlementIntervalMs: Type.Optional(Type.Integer({ minimum: 60_000, maximum: 31 * 24 * 3_600_000 })),
  toleranceBp: Type.Integer({ minimum: 0, maximum: 10_000 }),
  expiresAt: Type.Optional(Time)
}, { additionalProperties: false })
export type PublishRequestInput = Static<typeof PublishRequestInput>
