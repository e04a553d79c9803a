// audit-verify: records/s re-verifying a whole log (auditLog over a real LevelDB log, after
// RecordLog.open has checked its hash chain) and bundles/s with verifyBundle on a real bundle
// (request, commitment, acceptance, countersigned settlement and the signing meter's readings).
import { openDb } from '../src/log/db.js'
import { RecordLog, auditLog } from '../src/log/record-log.js'
import { BUNDLE_FORMAT, verifyBundle, type AuditBundle } from '../src/log/bundle.js'
import { countersign, signRecord, verifyRecord, type Verified } from '../src/records/envelope.js'
import { computeSettlement } from '../src/market/settlement.js'
import { SigningMeter, type Reading } from '../src/meter/meter.js'
import { canonicalBytes } from '../src/records/canonical.js'
import { merkleRoot } from '../src/log/merkle.js'
import { toHex } from '../src/records/bytes.js'
import { commitmentBody, newKeys, rawEd25519Us, requestBody, SIM_ORIGIN, tempDir } from './fixtures.js'
import { presign } from './log-append.js'
import { header, result, say, type BenchOptions, type BenchResult } from './report.js'
import { round, summarize, timeEach } from './stats.js'

/** A settled dr-mbe transaction as both parties and the meter sign it, as an audit bundle. */
export function realBundle (meterIntervalMs: number): { bundle: unknown, readings: number, records: number, bytes: number } {
  const utility = newKeys()
  const building = newKeys()
  const meterKeys = newKeys()
  const request = signRecord('grid.request', requestBody(utility.id, SIM_ORIGIN), utility)
  const window = request.record.body.window
  const commitment = signRecord('grid.commitment', commitmentBody(request, building.id, meterKeys.id, SIM_ORIGIN + 1_000), building)
  const acceptance = signRecord('grid.acceptance', { commitment: commitment.id, request: request.id, requester: utility.id, provider: building.id, issuedAt: SIM_ORIGIN + 1_100 }, utility)
  // The meter runs from before the baseline span (window length before the window) to its end.
  const spanFrom = window.start - (window.end - window.start)
  const { meter, reading } = SigningMeter.commission(meterKeys, meterIntervalMs, spanFrom - 10 * meterIntervalMs)
  const readings: Reading[] = [reading]
  while (meter.t < window.end) {
    // 80 kW before the window; during it the battery covers 50 kW of it.
    const w = meter.t >= window.start ? 30_000 : 80_000
    const r = meter.integrate(w, 5_000, meterIntervalMs)
    if (r !== undefined) readings.push(r)
  }
  const span = readings.filter(r => r.record.body.t >= spanFrom && r.record.body.t <= window.end)
  // Both parties' log checkpoints at settlement: each log holds request, commitment, acceptance.
  const checkpoint = (records: Array<Verified>): { size: number, root: string } => ({ size: records.length, root: toHex(merkleRoot(records.map(v => canonicalBytes(v.record)))) })
  const ledger = { provider: checkpoint([request, commitment, acceptance]), requester: checkpoint([request, commitment, acceptance]) }
  const computed = computeSettlement(commitment, acceptance, span.map(r => r.record), [], ledger, window.end + 60_000)
  if (!computed.ok) throw new Error(`cannot settle the bench transaction: ${computed.reason}: ${computed.detail}`)
  const settlement = countersign(signRecord('grid.settlement', computed.body, building), utility)
  // The provider's credentials as a node exports them: accreditations (two by the utility, the
  // meter certification by a certifier) and the profile that lists them.
  const certifier = newKeys()
  const accreditation = (kind: 'interconnection' | 'dr-enrollment' | 'meter-certification', by: typeof utility, serial: number): Verified<'credential.accreditation'> =>
    signRecord('credential.accreditation', {
      accreditor: by.id, subject: building.id, kind, scope: '*', ...(kind === 'meter-certification' ? { meter: meterKeys.id } : {}),
      serial, notBefore: SIM_ORIGIN - 86_400_000, expiresAt: SIM_ORIGIN + 365 * 86_400_000, issuedAt: SIM_ORIGIN - 86_400_000
    }, by)
  const accreditations = [accreditation('interconnection', utility, 1), accreditation('dr-enrollment', utility, 2), accreditation('meter-certification', certifier, 3)]
  const profile = signRecord('party.profile', {
    party: building.id, kind: 'building', name: 'bench-building', version: 1,
    location: { feeder: 'feeder-1', node: 'bench-building', latE6: 37_770_000, lonE6: -122_420_000 },
    services: [{ service: 'demand-response', responseMs: 30_000, settlementMethods: ['pairgrid/dr-mbe/1'] }],
    meter: meterKeys.id, accreditations: accreditations.map(a => a.id).sort(), issuedAt: SIM_ORIGIN - 86_400_000
  }, building)
  const bundle: AuditBundle = {
    format: BUNDLE_FORMAT,
    transaction: commitment.id,
    exportedBy: utility.id,
    exportedAt: window.end + 120_000,
    records: [request, commitment, acceptance, settlement].map(v => v.record),
    readings: span.map(r => r.record),
    signals: [],
    credentials: [profile, ...accreditations].map(v => v.record)
  }
  const verdict = verifyBundle(bundle)
  if (!verdict.ok) throw new Error(`bench bundle does not verify: ${verdict.fault}`)
  if (verdict.summary.status !== 'settled') throw new Error(`bench bundle is ${verdict.summary.status}, not settled`)
  return { bundle: JSON.parse(JSON.stringify(bundle)) as unknown, readings: span.length, records: bundle.records.length + bundle.readings.length + bundle.credentials.length + 1, bytes: canonicalBytes(bundle).length }
}

export async function run ({ quick }: BenchOptions): Promise<BenchResult[]> {
  header('audit-verify', 'auditLog over a whole log, verifyBundle on a real settled bundle')
  const n = quick ? 10_000 : 100_000
  const { dir, cleanup } = await tempDir('audit')
  let openS: number
  let auditS: number
  try {
    let db = await openDb(dir)
    let log = await RecordLog.open(db)
    const tAppend = performance.now()
    const chunk = 5_000
    for (let done = 0; done < n; done += chunk) {
      const records = presign(Math.min(chunk, n - done))
      await Promise.all(records.map(async r => await log.append(r)))
    }
    say(`${n} signed records appended (signing included) in ${((performance.now() - tAppend) / 1000).toFixed(1)} s`)
    await db.close()

    db = await openDb(dir)
    const tOpen = performance.now()
    log = await RecordLog.open(db)
    openS = (performance.now() - tOpen) / 1000
    const tAudit = performance.now()
    const audit = await auditLog(log)
    auditS = (performance.now() - tAudit) / 1000
    await db.close()
    if (audit.fault !== undefined || audit.entries !== n) throw new Error(`audit found ${audit.entries} entries, fault ${audit.fault ?? 'none'}`)
  } finally {
    await cleanup()
  }
  const auditRate = n / auditS
  const openRate = n / openS
  say(`RecordLog.open (hash chain + Merkle, no signatures): ${Math.round(openRate).toLocaleString('en-US')} entries/s (${openS.toFixed(2)} s)`)
  say(`auditLog (every signature, schema, id):              ${Math.round(auditRate).toLocaleString('en-US')} records/s on one core (${auditS.toFixed(2)} s)`)

  // The floor: raw node:crypto verifies, one per record; next to it verifyRecord on records in memory.
  const raw = rawEd25519Us()
  const rawRate = 1e6 / raw.verifyUs
  const sample = presign(quick ? 1_000 : 3_000)
  for (const s of sample.slice(0, 300)) verifyRecord(s.record, undefined, { fresh: true })
  const inMemory = sample.length / (timeEach(1, () => { for (const s of sample) verifyRecord(s.record, undefined, { fresh: true }) })[0]! / 1e6)
  say(`verifyRecord on the same kind of records in memory: ${Math.round(inMemory).toLocaleString('en-US')} records/s; raw node:crypto verify ${Math.round(rawRate).toLocaleString('en-US')}/s`)

  const meterIntervalMs = 10_000
  const b = realBundle(meterIntervalMs)
  const reps = quick ? 20 : 60
  const bundleTimes = summarize(timeEach(reps, () => {
    const v = verifyBundle(b.bundle)
    if (!v.ok) throw new Error(v.fault)
  }))
  const bundlesPerSec = 1e6 / bundleTimes.mean
  const bundleFloor = 1e6 / (b.records * raw.verifyUs)
  say(`verifyBundle (${b.readings} readings at ${meterIntervalMs / 1000} s, ${b.records} signatures, ${Math.round(b.bytes / 1024)} KiB): p50 ${(bundleTimes.p50 / 1000).toFixed(1)} ms → ${bundlesPerSec.toFixed(1)} bundles/s (${Math.round(bundlesPerSec * b.records).toLocaleString('en-US')} signed records/s); floor ${bundleFloor.toFixed(1)} bundles/s = ${b.records} raw verifies of ${raw.verifyUs.toFixed(0)} µs`)
  return [
    result('audit-verify', Math.round(auditRate), 'records/s/core', 5_000, Math.round(rawRate), { records: n, verifyRecordInMemoryPerSec: Math.round(inMemory), openEntriesPerSec: Math.round(openRate), auditSeconds: round(auditS, 2) }),
    result('audit-verify/bundle', round(bundlesPerSec, 1), 'bundles/s', null, round(bundleFloor, 1), {
      bundleP50Ms: round(bundleTimes.p50 / 1000, 2), readings: b.readings, meterIntervalMs, signatures: b.records, bundleBytes: b.bytes,
      recordsPerSec: Math.round(bundlesPerSec * b.records)
    })
  ]
}
