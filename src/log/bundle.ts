// Audit bundles: one transaction's whole chain (request, commitment, answer, settlement,
// dispute) with the meter readings behind it, verifiable offline by anyone.
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { RecordId, PartyId, Time } from '../records/common-schemas.js'
import { verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import type { RecordType } from '../records/registry.js'
import { acceptancePriceFault, termsMismatch } from '../grid/terms.js'
import { checkSettlement } from '../market/settlement.js'

export const BUNDLE_FORMAT = 'pairgrid/audit-bundle/1'

export const BundleSchema = Type.Object({
  format: Type.Literal(BUNDLE_FORMAT),
  transaction: RecordId,
  exportedBy: PartyId,
  exportedAt: Time,
  records: Type.Array(Type.Unknown(), { minItems: 2, maxItems: 16 }),
  readings: Type.Array(Type.Unknown(), { maxItems: 1_000_000 }),
  signals: Type.Array(Type.Unknown(), { maxItems: 1_000_000, description: 'the regulation signal (frequency regulation); empty otherwise' }),
  credentials: Type.Array(Type.Unknown(), { maxItems: 64, description: 'the provider\'s profile and accreditations' })
}, { additionalProperties: false })
const bundleCheck = TypeCompiler.Compile(BundleSchema)

export interface AuditBundle {
  format: typeof BUNDLE_FORMAT
  transaction: string
  exportedBy: string
  exportedAt: number
  records: Envelope[]
  readings: Envelope[]
  signals: Envelope[]
  credentials: Envelope[]
}

export interface BundleContents { chain: Verified[], readings: Envelope[], signals: Envelope[], credentials: Envelope[] }

export function makeBundle (transaction: string, contents: BundleContents, exportedBy: string, exportedAt: number): AuditBundle {
  const { chain, readings, signals, credentials } = contents
  return { format: BUNDLE_FORMAT, transaction, exportedBy, exportedAt, records: chain.map(v => v.record), readings, signals, credentials }
}

export interface BundleSummary {
  transaction: string
  service: string
  marketplace: string
  requester: string
  provider: string
  status: 'rejected' | 'accepted' | 'settled' | 'disputed' | 'proposed' | 'expired'
  executed?: number
  unit?: string
  paidEnergy?: number
  performance?: number
  amount?: { minor: number, currency: string }
  dispute?: { reason: string, substantiated: boolean }
  /** A meter-certification of the provider in the bundle, by another party, binds the commitment's meter. */
  meterCertified: boolean
  meterCertifier?: string
  records: number
  readings: number
}

export type BundleVerdict = { ok: true, summary: BundleSummary } | { ok: false, fault: string }

/** Verifies a bundle offline: every signature, every link, the digest, the arithmetic, signer = party. */
export function verifyBundle (value: unknown): BundleVerdict {
  if (!bundleCheck.Check(value)) {
    const e = bundleCheck.Errors(value).First()
    return { ok: false, fault: `not an audit bundle: ${e?.path ?? ''} ${e?.message ?? ''}` }
  }
  const byType = new Map<RecordType, Verified>()
  for (const [i, raw] of value.records.entries()) {
    let v: Verified
    try { v = verifyRecord(raw, undefined, { fresh: true }) } catch (err) { return { ok: false, fault: `record ${i}: ${(err as Error).message}` } }
    if (byType.has(v.record.type)) return { ok: false, fault: `record ${i}: a second ${v.record.type}` }
    byType.set(v.record.type, v)
  }
  const request = byType.get('grid.request') as Verified<'grid.request'> | undefined
  const commitment = byType.get('grid.commitment') as Verified<'grid.commitment'> | undefined
  if (request === undefined || commitment === undefined) return { ok: false, fault: 'a bundle needs the request and the commitment' }
  if (commitment.id !== value.transaction) return { ok: false, fault: `commitment ${commitment.id} is not the bundle's transaction ${value.transaction}` }
  if (commitment.record.body.request !== request.id) return { ok: false, fault: 'commitment does not reference the request' }
  const mismatch = termsMismatch(request.record.body, commitment.record.body)
  if (mismatch !== undefined) return { ok: false, fault: mismatch }
  const c = commitment.record.body
  const summary: BundleSummary = {
    transaction: commitment.id, service: c.service, marketplace: c.marketplace, requester: c.requester, provider: c.provider,
    status: 'proposed', records: value.records.length, readings: value.readings.length, meterCertified: false
  }
  for (const [i, raw] of value.credentials.entries()) {
    let v: Verified
    try { v = verifyRecord(raw, ['party.profile', 'credential.accreditation'] as const, { fresh: true }) } catch (err) { return { ok: false, fault: `credential ${i}: ${(err as Error).message}` } }
    const b = v.record.body as { party?: string, subject?: string, kind?: string, meter?: string, accreditor?: string }
    if ((b.party ?? b.subject) !== c.provider) return { ok: false, fault: `credential ${i} is about another party than the provider` }
    // A party cannot certify its own meter.
    if (b.kind === 'meter-certification' && b.meter === c.meter && b.accreditor !== c.provider) {
      summary.meterCertified = true
      summary.meterCertifier = b.accreditor
    }
  }
  const acceptance = byType.get('grid.acceptance') as Verified<'grid.acceptance'> | undefined
  const rejection = byType.get('grid.rejection') as Verified<'grid.rejection'> | undefined
  const answer = acceptance ?? rejection
  if (acceptance !== undefined && rejection !== undefined) return { ok: false, fault: 'both an acceptance and a rejection' }
  if (answer !== undefined) {
    const a = answer.record.body
    if (a.commitment !== commitment.id || a.request !== request.id || a.requester !== c.requester || a.provider !== c.provider) return { ok: false, fault: `${answer.record.type} does not answer this commitment between these parties` }
    if (acceptance !== undefined) {
      const priceFault = acceptancePriceFault(request.record.body, c, acceptance.record.body)
      if (priceFault !== undefined) return { ok: false, fault: priceFault }
    }
    summary.status = acceptance !== undefined ? 'accepted' : 'rejected'
  }
  const settlement = byType.get('grid.settlement') as Verified<'grid.settlement'> | undefined
  const dispute = byType.get('grid.dispute') as Verified<'grid.dispute'> | undefined
  const expiry = byType.get('grid.expiry') as Verified<'grid.expiry'> | undefined
  if (expiry !== undefined) {
    const e = expiry.record.body
    const parties = [c.requester, c.provider]
    if (e.commitment !== commitment.id || e.request !== request.id || !parties.includes(e.by) || !parties.includes(e.against) || e.by === e.against) return { ok: false, fault: 'expiry does not expire this transaction between these parties' }
    if (settlement === undefined || settlement.record.sigs.length < 2) {
      summary.status = 'expired'
      return { ok: true, summary }
    }
  }
  if (settlement === undefined) {
    if (dispute !== undefined) return { ok: false, fault: 'a dispute without the settlement it disputes' }
    if (value.readings.length > 0 || value.signals.length > 0) return { ok: false, fault: 'readings or signals without a settlement they support' }
    return { ok: true, summary }
  }
  if (acceptance === undefined) return { ok: false, fault: 'a settlement without an acceptance' }
  const s = settlement.record.body
  if (s.commitment !== commitment.id || s.acceptance !== acceptance.id || s.request !== request.id) return { ok: false, fault: 'settlement does not reference this chain' }
  const check = checkSettlement(settlement, commitment, acceptance, request.record.body.toleranceBp, value.readings, value.signals, { fresh: true })
  Object.assign(summary, { executed: s.executed, unit: s.committed.unit, paidEnergy: s.paidEnergy, performance: s.performance, amount: s.amount })
  if (dispute !== undefined) {
    const d = dispute.record.body
    if (d.settlement !== settlement.id || d.commitment !== commitment.id || d.request !== request.id || d.by !== c.requester || d.against !== c.provider) return { ok: false, fault: 'dispute does not dispute this settlement between these parties' }
    summary.status = 'disputed'
    summary.dispute = { reason: d.reason, substantiated: !check.ok }
    return { ok: true, summary }
  }
  if (settlement.record.sigs.length !== 2) return { ok: false, fault: 'settlement is not countersigned' }
  if (!check.ok) return { ok: false, fault: `settlement does not match its telemetry: ${check.reason}: ${check.detail}` }
  summary.status = 'settled'
  return { ok: true, summary }
}
