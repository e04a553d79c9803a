// sign-verify: the full record path (canonical JSON + SHA-256 + Ed25519 via signRecord /
// verifyRecord) on a realistic grid.request, next to raw Ed25519 on the same message bytes with
// node:crypto (the floor) and @noble/curves (the pure-JS alternative).
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { signRecord, verifyRecord, decodeRecord, encodeRecord, EnvelopeSchema, SIGNATURE_DOMAIN } from '../src/records/envelope.js'
import { canonicalBytes } from '../src/records/canonical.js'
import { sha256Hex, fromBase64url } from '../src/records/bytes.js'
import { bodyChecker } from '../src/records/registry.js'
import { newKeys, requestBody, SIM_ORIGIN } from './fixtures.js'
import { header, result, say, type BenchOptions, type BenchResult } from './report.js'
import { round, summarize, timeEach } from './stats.js'

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export async function run ({ quick }: BenchOptions): Promise<BenchResult[]> {
  header('sign-verify', 'records signed/verified through signRecord/verifyRecord vs raw Ed25519')
  const n = quick ? 1_000 : 5_000
  const nNoble = quick ? 100 : 400
  const keys = newKeys()
  const body = requestBody(keys.id, SIM_ORIGIN)
  const signed = signRecord('grid.request', body, keys)
  const wire = encodeRecord(signed.record)

  // The exact bytes the record signature covers: domain prefix, type, canonical unsigned form.
  const unsigned = canonicalBytes({ v: 1, type: 'grid.request', body })
  const msg = Buffer.concat([Buffer.from(`${SIGNATURE_DOMAIN}\0grid.request\0`), unsigned])
  const sig = fromBase64url(signed.record.sigs[0]!.sig)
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, keys.seed]), format: 'der', type: 'pkcs8' })
  const pub = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, keys.publicKey]), format: 'der', type: 'spki' })
  if (!nodeVerify(null, msg, pub, sig)) throw new Error('reconstructed signing message does not match signRecord\'s')
  const nobleSig = ed25519.sign(msg, keys.seed)
  if (Buffer.compare(Buffer.from(nobleSig), Buffer.from(sig)) !== 0) throw new Error('@noble/curves and node:crypto signatures differ')
  say(`message: ${msg.length} bytes signed (${unsigned.length} canonical + prefix); wire record ${wire.length} bytes`)

  const warm = (f: () => void, k = 200): void => { for (let i = 0; i < k; i++) f() }

  // Full record path.
  warm(() => signRecord('grid.request', body, keys))
  const recSign = summarize(timeEach(n, () => signRecord('grid.request', body, keys)))
  // Every signature checked each time ({ fresh: true }): the cost of a record never seen before.
  const fresh = { fresh: true }
  warm(() => verifyRecord(signed.record, undefined, fresh))
  const recVerify = summarize(timeEach(n, () => verifyRecord(signed.record, undefined, fresh)))
  warm(() => decodeRecord(wire, undefined, undefined, fresh))
  const recDecode = summarize(timeEach(n, () => decodeRecord(wire, undefined, undefined, fresh)))
  // A record whose signature this process verified before (a reading in many settlements).
  const recSeen = summarize(timeEach(n, () => verifyRecord(signed.record)))

  // Raw Ed25519, node:crypto.
  warm(() => nodeSign(null, msg, priv))
  const rawSign = summarize(timeEach(n, () => nodeSign(null, msg, priv)))
  warm(() => nodeVerify(null, msg, pub, sig))
  const rawVerify = summarize(timeEach(n, () => nodeVerify(null, msg, pub, sig)))

  // Raw Ed25519, @noble/curves (pure JS).
  warm(() => ed25519.sign(msg, keys.seed), 20)
  const nobleSign = summarize(timeEach(nNoble, () => ed25519.sign(msg, keys.seed)))
  warm(() => ed25519.verify(nobleSig, msg, keys.publicKey), 20)
  const nobleVerify = summarize(timeEach(nNoble, () => ed25519.verify(nobleSig, msg, keys.publicKey)))

  // Where verifyRecord's time goes beyond the raw verify.
  const envelopeCheck = TypeCompiler.Compile(EnvelopeSchema)
  const bodyCheck = bodyChecker('grid.request')
  const parts = {
    canonicalizeUs: summarize(timeEach(n, () => canonicalBytes({ v: 1, type: 'grid.request', body }))).p50,
    sha256Us: summarize(timeEach(n, () => sha256Hex(unsigned))).p50,
    schemaUs: summarize(timeEach(n, () => { envelopeCheck.Check(signed.record); bodyCheck.Check(body) })).p50,
    jsonParseUs: summarize(timeEach(n, () => JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(wire)))).p50
  }

  const perSec = (p50us: number): number => Math.round(1e6 / p50us)
  const line = (what: string, s: ReturnType<typeof summarize>): void =>
    say(`${what.padEnd(34)} p50 ${s.p50.toFixed(1).padStart(7)} µs  p99 ${s.p99.toFixed(1).padStart(7)} µs  ≈ ${perSec(s.mean).toLocaleString('en-US').padStart(7)}/s (1 core)`)
  line('signRecord (grid.request)', recSign)
  line('verifyRecord (grid.request)', recVerify)
  line('decodeRecord (bytes → verified)', recDecode)
  line('verifyRecord, signature seen before', recSeen)
  line('node:crypto sign (raw)', rawSign)
  line('node:crypto verify (raw)', rawVerify)
  line('@noble/curves sign (raw)', nobleSign)
  line('@noble/curves verify (raw)', nobleVerify)
  say(`verifyRecord overhead over raw verify: ${(recVerify.p50 - rawVerify.p50).toFixed(1)} µs (canonicalize ${parts.canonicalizeUs.toFixed(1)}, sha256 ${parts.sha256Us.toFixed(1)}, schema ${parts.schemaUs.toFixed(1)} µs; JSON.parse on the wire path ${parts.jsonParseUs.toFixed(1)} µs)`)

  const common = { messageBytes: msg.length, wireBytes: wire.length, samples: n }
  return [
    result('sign-verify', round(recVerify.p50, 1), 'µs/record verify p50', 150, round(rawVerify.p50, 1), {
      ...common,
      p99: round(recVerify.p99, 1),
      recordsVerifiedPerSec: perSec(recVerify.mean),
      recordsSignedPerSec: perSec(recSign.mean),
      recordSignP50Us: round(recSign.p50, 1),
      decodeRecordP50Us: round(recDecode.p50, 1),
      seenBeforeP50Us: round(recSeen.p50, 1),
      overheadUs: parts
    }),
    result('sign-verify/records-signed', perSec(recSign.mean), 'records/s', null, perSec(rawSign.mean), { ...common, p50Us: round(recSign.p50, 1), p99Us: round(recSign.p99, 1) }),
    result('sign-verify/records-verified', perSec(recVerify.mean), 'records/s', null, perSec(rawVerify.mean), { ...common, p50Us: round(recVerify.p50, 1), p99Us: round(recVerify.p99, 1) }),
    result('sign-verify/raw-node', round(rawVerify.p50, 1), 'µs verify p50', null, null, {
      signP50Us: round(rawSign.p50, 1), verifyP50Us: round(rawVerify.p50, 1), signPerSec: perSec(rawSign.mean), verifyPerSec: perSec(rawVerify.mean)
    }),
    result('sign-verify/raw-noble', round(nobleVerify.p50, 1), 'µs verify p50', null, round(rawVerify.p50, 1), {
      samples: nNoble, signP50Us: round(nobleSign.p50, 1), verifyP50Us: round(nobleVerify.p50, 1), signPerSec: perSec(nobleSign.mean), verifyPerSec: perSec(nobleVerify.mean),
      slowerThanNode: round(nobleVerify.p50 / rawVerify.p50, 1)
    })
  ]
}
