// Fuzzing every decoder of untrusted bytes and values: decodeRecord for each record type,
// decodeCredentialBatch (members gossip), verifyBundle (offline audit), checkTelemetry (the
// readings a requester fetches) and parseCommitmentQuery (telemetry and signals streams).
// Properties: a decoder only ever throws its own typed error (RecordError with a known code,
// RefusedError) or returns { ok: false }; it never accepts a changed record. A record spelled
// differently but canonically equal (whitespace, key order, "1e3" for 1000, "-0" for 0, as
// protocols/records.md allows), or an earlier, less-signed version of it, is the genuine record
// with the same id: counted apart, not as accepted. Every decoder's count of bad inputs tried
// and accepted is printed at the end.
import { describe, it, expect, afterAll } from 'vitest'
import fc from 'fast-check'
import { countersign, decodeRecord, MAX_RECORD_BYTES, signRecord, type Envelope, type Verified } from '../src/records/envelope.js'
import { RecordError, type RecordErrorCode } from '../src/records/errors.js'
import { bodyChecker, recordSpecs, recordTypes, type RecordType } from '../src/records/registry.js'
import { canonicalize } from '../src/records/canonical.js'
import { fromBase64url, toBase64url } from '../src/records/bytes.js'
import { decodeCredentialBatch } from '../src/net/members.js'
import { makeBundle, verifyBundle } from '../src/log/bundle.js'
import { checkTelemetry } from '../src/meter/telemetry.js'
import { SigningMeter } from '../src/meter/meter.js'
import { computeSettlement } from '../src/market/settlement.js'
import { knownSettlementMethods, settlementMethod } from '../src/market/methods.js'
import { parseCommitmentQuery } from '../src/grid/queries.js'
import { RefusedError } from '../src/net/rpc.js'
import { CREDENTIAL_TYPES } from '../src/credentials/store.js'
import { generateKeyPair } from '../src/identity/keyfile.js'
import { keyPairFromSeed, type KeyPair } from '../src/identity/ed25519.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../src/node/package-root.js'
import { sampleReading, sampleRequest, sampleSettlement } from './helpers/samples.js'

type Json = any // fuzz inputs are arbitrary JSON, walked by path
type Path = Array<string | number>

// Every RecordErrorCode, checked exhaustive by the compiler: a refusal must carry one of these.
const CODES = new Set(Object.keys({
  oversized: 1, 'malformed-json': 1, 'too-deep': 1, 'non-integer-number': 1, 'unsupported-value': 1, schema: 1, 'unknown-type': 1,
  'bad-signature': 1, 'missing-signature': 1, 'unexpected-signer': 1, 'signer-not-peer': 1, 'duplicate-signature': 1
} satisfies Record<RecordErrorCode, 1>))

// ---- tallies: bad inputs tried and accepted, per decoder --------------------------------------

interface Tally { inputs: number, accepted: number, same: number, refusals: Record<string, number> }
const tallies = new Map<string, Tally>()
function tally (name: string): Tally {
  let t = tallies.get(name)
  if (t === undefined) tallies.set(name, t = { inputs: 0, accepted: 0, same: 0, refusals: {} })
  return t
}

afterAll(() => {
  let inputs = 0
  let accepted = 0
  for (const [name, t] of tallies) {
    inputs += t.inputs
    accepted += t.accepted
    const refusals = Object.entries(t.refusals).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')
    console.log(`fuzz ${name}: ${t.inputs} inputs, ${t.accepted} accepted${t.same > 0 ? ` (+${t.same} taken as the genuine input they equal)` : ''} (refused: ${refusals})`)
  }
  console.log(`fuzz: ${inputs} inputs, ${accepted} accepted`)
})

/** Feeds one input to a throwing decoder; anything thrown but its typed error fails the test. */
function attempt<T> (name: string, run: () => T, errorType: typeof RecordError | typeof RefusedError = RecordError): { ok: true, value: T } | { ok: false, code: string } {
  const t = tally(name)
  t.inputs++
  try {
    return { ok: true, value: run() }
  } catch (err) {
    if (!(err instanceof errorType)) throw new Error(`${name} threw ${String(err)} instead of a ${errorType.name}`)
    if (err instanceof RecordError) expect(CODES.has(err.code), `unknown code ${err.code}`).toBe(true)
    t.refusals[err.code] = (t.refusals[err.code] ?? 0) + 1
    return { ok: false, code: err.code }
  }
}

/** The input must be refused (with one of `codes`, when given). */
function refused (name: string, run: () => unknown, codes?: readonly string[], errorType?: typeof RecordError | typeof RefusedError): void {
  const r = attempt(name, run, errorType)
  if (r.ok) tally(name).accepted++
  expect(r.ok, `${name} accepted a bad input`).toBe(false)
  if (codes !== undefined && !r.ok) expect(codes).toContain(r.code)
}

/** A changed record must be refused; accepted only if canonically one of the `genuine` values. */
function refusedUnlessSame (name: string, run: () => unknown, genuine: readonly unknown[], errorType?: typeof RecordError | typeof RefusedError): void {
  const r = attempt(name, run, errorType)
  if (!r.ok) return
  const value = (r.value as { record?: unknown }).record ?? r.value
  if (genuine.some(g => canonicalize(g) === canonicalize(value))) { tally(name).same++; return }
  tally(name).accepted++
  expect.fail(`${name} accepted a changed record: ${canonicalize(value).slice(0, 300)}`)
}

/** Runs a verdict-style function, which must return, never throw. */
function verdictOf (name: string, run: () => { ok: boolean }): { ok: boolean, fault?: string, reason?: string } {
  tally(name).inputs++
  try { return run() } catch (err) { throw new Error(`${name} threw instead of returning a verdict: ${String(err)}`) }
}

/** Bad input must give { ok: false }. */
function rejectedVerdict (name: string, run: () => { ok: boolean }): void {
  const t = tally(name)
  const verdict = verdictOf(name, run)
  if (verdict.ok) t.accepted++
  expect(verdict.ok, `${name} accepted a bad input`).toBe(false)
  const key = verdict.reason ?? (verdict.fault ?? '').replace(/[0-9a-f]{64}/g, '<id>').replace(/\d+/g, 'N').split(':')[0]!.slice(0, 60)
  t.refusals[key] = (t.refusals[key] ?? 0) + 1
}

// ---- parties and one valid record of every type ----------------------------------------------

const A = generateKeyPair() // requester, operator, accreditor, issuer
const B = generateKeyPair() // provider, building, subject
const M = generateKeyPair() // meter
const X = generateKeyPair() // an outsider
// The spec's test-vector keys (seeds 0x01..0x06, protocols/README.md) sign its trade examples.
const SEEDED = [1, 2, 3, 4, 5, 6].map(n => keyPairFromSeed(new Uint8Array(32).fill(n)))
const keyOf = new Map<string, KeyPair>([A, B, M, X, ...SEEDED].map(k => [k.id, k]))

/** Valid trade bodies: the signed examples of protocols/trade.md. */
const tradeExamples = new Map([...readFileSync(join(packageRoot(), 'protocols', 'trade.md'), 'utf8').matchAll(/```json example-record[^\n]*\n([\s\S]*?)```/g)]
  .map(m => JSON.parse(m[1]!) as Envelope)
  .map(r => [r.type, r.body]))
const tradeBody = (type: RecordType) => (): unknown => {
  const body = tradeExamples.get(type)
  if (body === undefined) throw new Error(`protocols/trade.md has no example of ${type}`)
  return structuredClone(body)
}
const H = (c: string): string => c.repeat(64)
const T0 = Date.UTC(2026, 10, 21, 14, 0, 0)
const window = { start: T0, end: T0 + 900_000 }
const tariffPrice = { mechanism: 'tariff' as const, reference: 'tariff/dr-2026', currency: 'USD', rate: 25_000, rateUnit: 'MWh' as const }

const bodies: { [T in RecordType]: () => unknown } = {
  'grid.request': () => sampleRequest(A.id),
  'grid.commitment': () => ({ request: H('a'), marketplace: 'utility-dr', requester: A.id, provider: B.id, service: 'demand-response', window, quantity: { value: 50_000, unit: 'W' }, price: tariffPrice, settlementMethod: 'pairgrid/dr-mbe/1', meter: M.id, elements: ['battery', 'hvac-1'], issuedAt: T0 - 50_000 }),
  'grid.acceptance': () => ({ commitment: H('b'), request: H('a'), requester: A.id, provider: B.id, price: { ...tariffPrice, mechanism: 'auction' }, issuedAt: T0 - 40_000 }),
  'grid.rejection': () => ({ commitment: H('b'), request: H('a'), requester: A.id, provider: B.id, reason: 'filled', detail: 'the request is filled', issuedAt: T0 - 40_000 }),
  'grid.filled': () => ({ request: H('a'), marketplace: 'utility-dr', requester: A.id, issuedAt: T0 - 40_000, expiresAt: T0 - 10_000 }),
  'grid.signal': () => ({ commitment: H('b'), requester: A.id, provider: B.id, seq: 3, t: T0 + 6_000, setpointPm: -250 }),
  'meter.reading': () => sampleReading(M.id, 5),
  'grid.settlement': () => ({ ...sampleSettlement(B.id, A.id, M.id), signals: { count: 450, root: H('e') } }),
  'grid.dispute': () => ({ settlement: H('c'), commitment: H('b'), request: H('a'), by: A.id, against: B.id, reason: 'digest-mismatch', detail: 'the readings do not hash to the digest', issuedAt: T0 + 1_000_000 }),
  'party.profile': () => ({
    party: B.id, kind: 'building', name: 'building-a', version: 3,
    location: { feeder: 'feeder-1', node: 'building-a', latE6: 40_712_000, lonE6: -74_006_000 },
    surface: { granularity: 'fine', energyWh: 200_000, continuousW: 100_000, peakW: 200_000, peakDurationMs: 600_000, var: 50_000, reserveWh: 20_000, elements: [{ id: 'rack-1', kind: 'battery-rack', powerW: 100_000, energyWh: 200_000 }] },
    services: [{ service: 'demand-response', responseMs: 30_000, settlementMethods: ['pairgrid/dr-mbe/1'] }],
    meter: M.id, accreditations: [H('d')], issuedAt: T0 - 86_400_000
  }),
  'credential.accreditation': () => ({ accreditor: A.id, subject: B.id, kind: 'meter-certification', scope: 'utility-dr', meter: M.id, serial: 7, notBefore: T0 - 1e9, expiresAt: T0 + 1e10, issuedAt: T0 - 1e9 }),
  'credential.revocation': () => ({ accreditor: A.id, accreditation: H('d'), reason: 'meter key compromised', issuedAt: T0 }),
  'market.governance': () => ({
    operator: A.id, name: 'utility-dr', description: 'demand response on feeder 1',
    roles: [{ kind: 'building', may: ['provide'], requires: ['interconnection', 'meter-certification'] }, { kind: 'distribution-utility', may: ['request'], requires: [] }],
    trustedAccreditors: [{ kind: 'interconnection', accreditor: A.id }], services: ['demand-response'], settlementMethods: ['pairgrid/dr-mbe/1'],
    settlementIntervalsMs: [900_000], toleranceBp: 1000, priceMechanism: 'tariff', minimumBid: { value: 10_000, unit: 'W' }, issuedAt: T0 - 1e9
  }),
  'market.tariff': () => ({ issuer: A.id, marketplace: H('f'), reference: 'tariff/dr-2026', service: 'demand-response', price: tariffPrice, validFrom: T0 - 1e9, validUntil: T0 + 1e10, issuedAt: T0 - 1e9 }),
  'market.framework': () => ({ marketplace: H('f'), requester: A.id, provider: B.id, reference: 'fw/2026-1', services: ['demand-response', 'peak-shaving'], price: { ...tariffPrice, mechanism: 'framework' }, maxQuantity: { value: 100_000, unit: 'W' }, validFrom: T0 - 1e9, validUntil: T0 + 1e10, issuedAt: T0 - 1e9 }),
  'grid.expiry': () => ({ commitment: H('b'), request: H('a'), by: B.id, against: A.id, stage: 'uncountersigned', detail: 'the requester did not countersign in time', issuedAt: T0 + 2_000_000 }),
  'trade.offer': tradeBody('trade.offer'),
  'trade.bid': tradeBody('trade.bid'),
  'trade.acceptance': tradeBody('trade.acceptance'),
  'trade.confirmation': tradeBody('trade.confirmation'),
  'trade.refusal': tradeBody('trade.refusal'),
  'trade.settlement': tradeBody('trade.settlement'),
  'trade.certificate': tradeBody('trade.certificate'),
  'trade.dispute': tradeBody('trade.dispute'),
  'trade.retirement': tradeBody('trade.retirement')
}

const signersOf = (type: RecordType, body: unknown): string[] => (recordSpecs[type].signers as (b: unknown) => string[])(body)

/** Signs with each key in order, whatever parties the body names (countersign would check them). */
function signAll (type: RecordType, body: unknown, keys: readonly KeyPair[]): Verified {
  const first = signRecord(type, body as never, keys[0]!) as Verified
  return { id: first.id, record: { ...first.record, sigs: keys.map(k => signRecord(type, body as never, k).record.sigs[0]!) } }
}

/** A record and its earlier, less-signed versions (a settlement before its countersignature): one record, one id. */
function versions (record: Envelope): Envelope[] {
  const min = recordSpecs[record.type].minSignatures
  return Array.from({ length: record.sigs.length - min + 1 }, (_, i) => ({ ...record, sigs: record.sigs.slice(0, min + i) }))
}

const samples = new Map(recordTypes.map(type => {
  const body = bodies[type]()
  const keys = signersOf(type, body).map(id => keyOf.get(id)!)
  return [type, { keys, record: signAll(type, body, keys).record }]
}))

// ---- mutation helpers -------------------------------------------------------------------------

const clone = <T>(v: T): T => structuredClone(v)
const encode = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))
const kindOf = (v: unknown): string => Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v

function pathsOf (v: Json, prefix: Path = []): Path[] {
  if (typeof v !== 'object' || v === null) return []
  return Object.keys(v).flatMap(k => {
    const p = [...prefix, Array.isArray(v) ? Number(k) : k]
    return [p, ...pathsOf(v[k], p)]
  })
}
const getAt = (root: Json, path: Path): Json => path.reduce((o, k) => o?.[k], root)
/** A copy of root with the value at path replaced (an own property even for `__proto__`). */
function setAt (root: Json, path: Path, value: unknown): Json {
  const copy = clone(root)
  const parent = getAt(copy, path.slice(0, -1))
  Object.defineProperty(parent, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true })
  return copy
}
function deleteAt (root: Json, path: Path): Json {
  const copy = clone(root)
  const parent = getAt(copy, path.slice(0, -1))
  if (Array.isArray(parent)) parent.splice(path.at(-1) as number, 1)
  else delete parent[path.at(-1)!]
  return copy
}
/** JSON text of root with the value at path spelled as raw `text` (floats, NaN, huge numbers). */
function withText (root: Json, path: Path, text: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(setAt(root, path, '@@FUZZ@@')).replace('"@@FUZZ@@"', text))
}

/** The JSON Schema node at a body path (TypeBox schemas are JSON Schema). */
function schemaAt (type: RecordType, path: Path): Json {
  let s: Json = recordSpecs[type].schema
  for (const seg of path) s = typeof seg === 'number' ? s?.items : s?.properties?.[seg]
  return s
}
const enumOf = (s: Json): string[] | undefined => Array.isArray(s?.anyOf) && s.anyOf.every((x: Json) => typeof x.const === 'string') ? s.anyOf.map((x: Json) => x.const) : undefined

const REPRESENTATIVES: Record<string, unknown> = { string: 'x', number: 7, boolean: true, null: null, array: [], object: {} }
const wrongKinds = (v: unknown): unknown[] => Object.entries(REPRESENTATIVES).filter(([k]) => k !== kindOf(v)).map(([, r]) => r)
const NUMBER_TEXTS = ['1e400', '-1e400', '-0', '0.0', '1.5', '-1', '-1.5', '9007199254740993', '-9007199254740993', '9007199254740992', '1e3', '2.0', '0.5e1', '1e-7',
  '123456789012345678901234567890', '4294967296', '-2147483649', 'NaN', 'Infinity', '-Infinity', '0x10', '01', '+1', '.5', '5.', '1_000', '"1"', 'null', 'true', '[1]', '{}']
const numberTexts = (n: number): string[] => [...NUMBER_TEXTS, `${n}.0`, `${n}e0`, `${n}.5`, String(n + 1), String(n - 1), String(-n), String(n * 1000)]
const EXTRA_KEYS = ['x', '', '__proto__', 'constructor', 'toString', 'v', 'sig', 'Nonce']
const nested = (depth: number): unknown => depth === 0 ? 1 : { a: nested(depth - 1) }

/** Arbitrary JSON that canonicalizes (safe integers only), so it can be signed. */
const { json: signableJson } = fc.letrec<{ json: unknown }>(tie => ({
  json: fc.oneof({ depthSize: 'small' },
    fc.string({ maxLength: 12 }), fc.integer(), fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 31, 1e12 + 1), fc.boolean(), fc.constant(null),
    fc.array(tie('json'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('json'), { maxKeys: 3 }))
}))

function flipSignatureBit (sig: string, byte: number, bit: number): string {
  const raw = fromBase64url(sig)
  raw[byte % 64]! ^= 1 << (bit % 8)
  return toBase64url(raw)
}

// ---- decodeRecord -----------------------------------------------------------------------------

describe('fuzz decodeRecord', () => {
  it('has a valid sample of every record type (each decodes, re-spellings decode to the same id)', () => {
    for (const type of recordTypes) {
      const { record } = samples.get(type)!
      const v = decodeRecord(encode(record), [type])
      expect(v.record).toEqual(record)
      expect(decodeRecord(new TextEncoder().encode(JSON.stringify(record, null, 2))).id).toBe(v.id)
    }
  })

  for (const type of recordTypes) {
    describe(type, () => {
      const { record, keys } = samples.get(type)!
      const name = 'decodeRecord'
      const original = record as Json
      const genuine = versions(record)
      const decode = (bytes: Uint8Array) => () => decodeRecord(bytes, [type])
      const resigned = (body: unknown): Json => ({ ...original, sigs: signAll(type, body, keys).record.sigs, body })

      it('every truncation of a valid encoding, and oversized input', () => {
        const bytes = encode(record)
        for (let i = 0; i < bytes.length; i++) refused(name, decode(bytes.subarray(0, i)), ['malformed-json'])
        const padded = new TextEncoder().encode(JSON.stringify(record) + ' '.repeat(MAX_RECORD_BYTES + 1 - bytes.length))
        refused(name, decode(padded), ['oversized'])
        refused(name, () => decodeRecord(bytes, [type], bytes.length - 1), ['oversized'])
        refused(name, () => decodeRecord(bytes, recordTypes.filter(t => t !== type)), ['unknown-type'])
      })

      it('wrong types, odd numbers, unknown enum values and extra fields in every field, signed or not', () => {
        for (const path of pathsOf(original)) {
          const v = getAt(original, path)
          for (const wrong of wrongKinds(v)) refusedUnlessSame(name, decode(encode(setAt(original, path, wrong))), genuine)
          if (typeof v === 'number') for (const text of numberTexts(v)) refusedUnlessSame(name, decode(withText(original, path, text)), genuine)
          refusedUnlessSame(name, decode(encode(deleteAt(original, path))), genuine)
        }
        for (const path of pathsOf(original.body)) {
          const v = getAt(original.body, path)
          const schema = schemaAt(type, path)
          // Signed by the right key, so only the schema can refuse it.
          for (const wrong of wrongKinds(v)) refused(name, decode(encode(resigned(setAt(original.body, path, wrong)))), ['schema', 'too-deep'])
          for (const bad of [schema?.minimum - 1, schema?.maximum + 1]) {
            if (typeof v === 'number' && Number.isSafeInteger(bad)) refused(name, decode(encode(resigned(setAt(original.body, path, bad)))), ['schema'])
          }
          const allowed = enumOf(schema) ?? []
          for (const unknown of allowed.length === 0 ? [] : ['', 'x', String(v).toUpperCase(), `${String(v)} `, `${String(v)}\u0000`, '__proto__', 'constructor'].filter(u => !allowed.includes(u))) {
            refused(name, decode(encode(resigned(setAt(original.body, path, unknown)))), ['schema'])
          }
        }
        const objects = [[], ...pathsOf(original.body).filter(p => kindOf(getAt(original.body, p)) === 'object')]
        for (const path of objects) {
          for (const key of EXTRA_KEYS) {
            if (Object.hasOwn(getAt(original.body, path), key)) continue
            refused(name, decode(encode(resigned(setAt(original.body, [...path, key], 1)))), ['schema'])
            refused(name, decode(encode({ ...original, body: setAt(original.body, [...path, key], 1) })), ['schema'])
          }
        }
        for (const key of EXTRA_KEYS.filter(k => k !== 'v')) {
          refused(name, decode(encode(setAt(original, [key], 1))), ['schema'])
          refused(name, decode(encode(setAt(original, ['sigs', 0, key], 1))), ['schema'])
        }
        for (const depth of [7, 8, 9, 50, 2000]) {
          refused(name, decode(encode(resigned(setAt(original.body, ['issuedAt'], nested(depth))))), ['schema', 'too-deep'])
          refused(name, decode(new TextEncoder().encode('['.repeat(depth) + ']'.repeat(depth))), ['schema', 'too-deep'])
        }
      })

      it('flipped signature bits, signatures by other keys, swapped or duplicated signers', () => {
        const sigs = original.sigs as Array<{ by: string, sig: string }>
        for (const [i, s] of sigs.entries()) {
          for (let byte = 0; byte < 64; byte += 7) refused(name, decode(encode(setAt(original, ['sigs', i, 'sig'], flipSignatureBit(s.sig, byte, byte)))), ['bad-signature'])
          const foreign = signRecord(type, original.body, X).record.sigs[0]!
          refused(name, decode(encode(setAt(original, ['sigs', i, 'sig'], foreign.sig))), ['bad-signature'])
          refused(name, decode(encode(setAt(original, ['sigs', i], foreign))), ['unexpected-signer'])
          // The last base64url character carries 4 slack bits: a second spelling of the same bytes.
          const alias = s.sig.slice(0, -1) + String.fromCharCode(s.sig.charCodeAt(85) + 1)
          refused(name, decode(encode(setAt(original, ['sigs', i, 'sig'], alias))), ['bad-signature'])
          const otherRecord = signRecord(type, { ...original.body, issuedAt: 1 }, keys[i]!).record.sigs[0]!
          refused(name, decode(encode(setAt(original, ['sigs', i], otherRecord))), ['bad-signature', 'schema'])
        }
        refused(name, decode(encode({ ...original, sigs: [...sigs, sigs[0]] })), ['unexpected-signer'])
        refused(name, decode(encode({ ...original, sigs: [] })), ['schema'])
        refused(name, decode(encode({ ...original, sigs: [sigs[0], sigs[0], sigs[0], sigs[0], sigs[0]] })), ['schema'])
        if (sigs.length === 2) refused(name, decode(encode({ ...original, sigs: [sigs[1], sigs[0]] })), ['unexpected-signer'])
        if (recordSpecs[type].minSignatures === 2) refused(name, decode(encode({ ...original, sigs: [sigs[0]] })), ['missing-signature'])
        // Party fields swapped with each other: never accepted unsigned; signed by the old signer,
        // refused whenever the parties that must sign have changed.
        const parties = pathsOf(original.body).filter(p => typeof getAt(original.body, p) === 'string' && keyOf.has(getAt(original.body, p)))
        for (const p of parties) {
          for (const q of parties) {
            const a = getAt(original.body, p)
            const b = getAt(original.body, q)
            if (a === b) continue
            const swapped = setAt(setAt(original.body, p, b), q, a)
            refusedUnlessSame(name, decode(encode({ ...original, body: swapped })), genuine)
            if (canonicalize(signersOf(type, swapped)) !== canonicalize(signersOf(type, original.body))) {
              refused(name, decode(encode(resigned(swapped))), ['unexpected-signer'])
            }
          }
        }
      })

      it('property: any unsigned change to any field, or to the bytes, is refused', () => {
        const paths = pathsOf(original)
        fc.assert(fc.property(fc.constantFrom(...paths), fc.oneof(signableJson, fc.constantFrom(...NUMBER_TEXTS).map(t => ({ text: t }))), (path, value) => {
          const bytes = typeof value === 'object' && value !== null && 'text' in value
            ? withText(original, path, (value as { text: string }).text)
            : encode(setAt(original, path, value))
          refusedUnlessSame(name, decode(bytes), genuine)
        }), { numRuns: 250 })
        const bytes = encode(record)
        fc.assert(fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 }), edits => {
          const b = [...bytes]
          for (const [at, byte, op] of edits) {
            if (op === 'set') b[at % b.length] = byte
            else if (op === 'insert') b.splice(at % (b.length + 1), 0, byte)
            else b.splice(at % b.length, 1)
          }
          refusedUnlessSame(name, decode(new Uint8Array(b)), genuine)
        }), { numRuns: 250 })
      })

      it('property: a body changed and signed by the right key is accepted only if it meets the schema', () => {
        const paths = pathsOf(original.body)
        fc.assert(fc.property(fc.constantFrom(...paths), signableJson, (path, value) => {
          const body = setAt(original.body, path, value)
          const r = attempt(name, decode(encode(resigned(body))))
          if (!r.ok) return
          const check = 'check' in recordSpecs[type] ? (recordSpecs[type] as { check: (b: unknown) => string | undefined }).check(body) : undefined
          const legit = bodyChecker(type).Check(body) && check === undefined && canonicalize(signersOf(type, body)) === canonicalize(signersOf(type, original.body))
          if (!legit) tally(name).accepted++
          expect(legit, `accepted a body the schema refuses: ${JSON.stringify(body).slice(0, 300)}`).toBe(true)
        }), { numRuns: 120 })
      })
    })
  }

  it('property: arbitrary bytes, text, JSON and envelope-shaped objects are refused', () => {
    const name = 'decodeRecord'
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), bytes => { refused(name, () => decodeRecord(bytes)) }), { numRuns: 1500 })
    fc.assert(fc.property(fc.string({ maxLength: 300, unit: 'binary' }), text => { refused(name, () => decodeRecord(new TextEncoder().encode(text))) }), { numRuns: 1000 })
    fc.assert(fc.property(fc.jsonValue(), value => { refused(name, () => decodeRecord(encode(value))) }), { numRuns: 1000 })
    const sig = fc.record({ by: fc.constantFrom(A.id, B.id, M.id, toBase64url(new Uint8Array(32))), sig: fc.uint8Array({ minLength: 64, maxLength: 64 }).map(toBase64url) })
    const envelope = fc.record({
      v: fc.constantFrom(1, 0, 2, '1', true),
      type: fc.constantFrom(...recordTypes, 'grid.unknown', '__proto__', ''),
      body: fc.dictionary(fc.string({ maxLength: 8 }), signableJson, { maxKeys: 6 }),
      sigs: fc.array(sig, { minLength: 0, maxLength: 5 })
    })
    fc.assert(fc.property(envelope, e => { refused(name, () => decodeRecord(encode(e))) }), { numRuns: 1500 })
    // Valid JSON with invalid UTF-8 inside a string, and huge inputs.
    const text = JSON.stringify(samples.get('grid.request')!.record)
    const at = text.indexOf('utility-dr')
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      const enc = new TextEncoder()
      const bytes = new Uint8Array([...enc.encode(text.slice(0, at)), ...bad, ...enc.encode(text.slice(at))])
      refused(name, () => decodeRecord(bytes), ['malformed-json'])
    }
    refused(name, () => decodeRecord(new Uint8Array(MAX_RECORD_BYTES + 1)), ['oversized'])
    refused(name, () => decodeRecord(new Uint8Array(1024 * 1024)), ['oversized'])
  })
})

// ---- decodeCredentialBatch (members gossip) ----------------------------------------------------

describe('fuzz decodeCredentialBatch', () => {
  const name = 'decodeCredentialBatch'
  const credentials = CREDENTIAL_TYPES.map(t => samples.get(t)!.record)
  const batch = { records: credentials }

  it('a valid batch decodes; every truncation, oversize and batch-shape fault is refused', () => {
    expect(decodeCredentialBatch(encode(batch)).map(v => v.record)).toEqual(credentials)
    const bytes = encode(batch)
    for (let i = 0; i < bytes.length; i += 3) refused(name, () => decodeCredentialBatch(bytes.subarray(0, i)), ['malformed-json'])
    const shapes = [null, 1, 'x', [], [credentials[0]], {}, { records: [] }, { records: {} }, { records: 'x' }, { records: null },
      { records: Array.from({ length: 65 }, () => credentials[0]) }, { Records: credentials }]
    for (const s of shapes) refused(name, () => decodeCredentialBatch(encode(s)), ['schema'])
    refused(name, () => decodeCredentialBatch(new TextEncoder().encode(`{"records":[${' '.repeat(128 * 1024)}]}`)), ['oversized'])
    for (const t of recordTypes.filter(t => !(CREDENTIAL_TYPES as readonly string[]).includes(t))) {
      refused(name, () => decodeCredentialBatch(encode({ records: [...credentials, samples.get(t)!.record] })), ['unknown-type'])
    }
  })

  it('property: any unsigned change to any record of a batch is refused', () => {
    const paths = pathsOf(batch.records)
    fc.assert(fc.property(fc.constantFrom(...paths), fc.oneof(signableJson, fc.constantFrom(...NUMBER_TEXTS).map(t => ({ text: t }))), (path, value) => {
      const bytes = typeof value === 'object' && value !== null && 'text' in value
        ? withText(batch, ['records', ...path], (value as { text: string }).text)
        : encode({ records: setAt(batch.records, path, value) })
      refusedUnlessSame(name, () => decodeCredentialBatch(bytes).map(v => v.record), [batch.records])
    }), { numRuns: 1500 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.jsonValue(), (bytes, value) => {
      refused(name, () => decodeCredentialBatch(bytes))
      refused(name, () => decodeCredentialBatch(encode(value)))
      refused(name, () => decodeCredentialBatch(encode({ records: [value] })))
    }), { numRuns: 700 })
  })
})

// ---- a real settled transaction: bundle and telemetry ------------------------------------------

const METER_INTERVAL_MS = 60_000
/** Both parties' log checkpoints, as the provider states them in its settlement. */
const LEDGER = { provider: { size: 12, root: H('1') }, requester: { size: 7, root: H('2') } }

/** Request, commitment, acceptance, countersigned settlement and the meter's readings, as a settled dr-mbe transaction. */
function settledTransaction (): { chain: Verified[], readings: Envelope[], span: { from: number, to: number } } {
  const request = signRecord('grid.request', { ...sampleRequest(A.id), nonce: '1'.repeat(32) }, A)
  const r = request.record.body
  const commitment = signRecord('grid.commitment', { request: request.id, marketplace: r.marketplace, requester: A.id, provider: B.id, service: r.service, window: r.window, quantity: r.quantity, price: r.price, settlementMethod: r.settlementMethod, meter: M.id, elements: ['battery'], issuedAt: r.issuedAt + 1_000 }, B)
  const acceptance = signRecord('grid.acceptance', { commitment: commitment.id, request: request.id, requester: A.id, provider: B.id, issuedAt: r.issuedAt + 2_000 }, A)
  const span = { from: r.window.start - (r.window.end - r.window.start), to: r.window.end }
  const { meter, reading } = SigningMeter.commission(M, METER_INTERVAL_MS, span.from)
  const readings = [reading]
  // 80 kW before the window, 25 kW during it: 55 kW of demand response against 50 kW committed.
  while (meter.t < span.to) readings.push(meter.integrate(meter.t >= r.window.start ? 25_000 : 80_000, 3_000, METER_INTERVAL_MS)!)
  const computed = computeSettlement(commitment, acceptance, readings.map(x => x.record), [], LEDGER, r.window.end + 60_000)
  if (!computed.ok) throw new Error(`fixture does not settle: ${computed.detail}`)
  const settlement = countersign(signRecord('grid.settlement', computed.body, B), A)
  return { chain: [request, commitment, acceptance, settlement], readings: readings.map(x => x.record), span }
}

describe('fuzz verifyBundle', () => {
  const name = 'verifyBundle'
  const tx = settledTransaction()
  const credentials = [samples.get('party.profile')!.record, samples.get('credential.accreditation')!.record]
  const bundle = JSON.parse(JSON.stringify(makeBundle(tx.chain[1]!.id, { chain: tx.chain, readings: tx.readings, signals: [], credentials }, A.id, T0 + 2e6))) as Json

  it('the real bundle verifies as settled, its meter certified', () => {
    const verdict = verifyBundle(bundle)
    expect(verdict).toMatchObject({ ok: true, summary: { status: 'settled', meterCertified: true } })
  })

  it('property: any unsigned change to a record, a reading or a credential is refused', () => {
    const paths = ['records', 'readings', 'credentials'].flatMap(k => pathsOf(bundle[k]).map(p => [k, ...p]))
    fc.assert(fc.property(fc.constantFrom(...paths), signableJson, (path, value) => {
      const changed = setAt(bundle, path, value)
      fc.pre(canonicalize(getAt(changed, path.slice(0, 2))) !== canonicalize(getAt(bundle, path.slice(0, 2))))
      rejectedVerdict(name, () => verifyBundle(changed))
    }), { numRuns: 500 })
  })

  it('missing, duplicated, reordered, foreign or re-signed readings and records; wrong shapes', () => {
    const n = bundle.readings.length
    const foreignMeter = (i: number): Envelope => signRecord('meter.reading', { ...bundle.readings[i].body, meter: X.id }, X).record
    const byRequester = signRecord('grid.rejection', { commitment: tx.chain[1]!.id, request: tx.chain[0]!.id, requester: A.id, provider: B.id, reason: 'filled', detail: '', issuedAt: T0 }, A).record
    const cases: Json[] = [
      ...Array.from({ length: n }, (_, i) => ({ ...bundle, readings: bundle.readings.filter((_: unknown, j: number) => j !== i) })),
      ...Array.from({ length: n }, (_, i) => ({ ...bundle, readings: [...bundle.readings.slice(0, i + 1), ...bundle.readings.slice(i)] })),
      ...Array.from({ length: n - 1 }, (_, i) => ({ ...bundle, readings: [...bundle.readings.slice(0, i), bundle.readings[i + 1], bundle.readings[i], ...bundle.readings.slice(i + 2)] })),
      ...Array.from({ length: n }, (_, i) => setAt(bundle, ['readings', i], foreignMeter(i))),
      { ...bundle, readings: [...bundle.readings].reverse() },
      { ...bundle, readings: [] },
      { ...bundle, records: bundle.records.filter((r: Envelope) => r.type !== 'grid.acceptance') },
      { ...bundle, records: bundle.records.filter((r: Envelope) => r.type !== 'grid.request') },
      { ...bundle, records: bundle.records.filter((r: Envelope) => r.type !== 'grid.commitment') },
      { ...bundle, records: [...bundle.records, bundle.records[0]] },
      { ...bundle, records: [...bundle.records, byRequester] },
      { ...bundle, records: bundle.records.map((r: Envelope) => r.type === 'grid.acceptance' ? byRequester : r) },
      { ...bundle, records: bundle.records.map((r: Envelope) => r.type === 'grid.settlement' ? { ...r, sigs: r.sigs.slice(0, 1) } : r) },
      { ...bundle, records: Array.from({ length: 17 }, () => bundle.records[0]) },
      { ...bundle, transaction: H('0') },
      { ...bundle, transaction: tx.chain[0]!.id },
      { ...bundle, format: 'pairgrid/audit-bundle/2' },
      { ...bundle, extra: 1 },
      { ...bundle, readings: bundle.readings.map((r: Envelope) => ({ ...r, sigs: [] })) },
      { ...bundle, credentials: [...credentials, signRecord('party.profile', { ...(bodies['party.profile']() as object), party: A.id } as never, A).record] },
      { ...bundle, credentials: [samples.get('grid.request')!.record] },
      null, 1, 'bundle', [], {}
    ]
    for (const c of cases) rejectedVerdict(name, () => verifyBundle(c))
    // The settlement re-signed by both parties with numbers the readings do not give.
    const settlement = tx.chain[3]! as Verified<'grid.settlement'>
    const s = settlement.record.body
    const lies: Json[] = [{ executed: s.executed + 1 }, { baseline: s.baseline - 1 }, { paidEnergy: s.paidEnergy + 1 }, { performance: s.performance - 1 }, { amount: { ...s.amount, minor: s.amount.minor + 1 } },
      { telemetry: { ...s.telemetry, root: H('0') } }, { telemetry: { ...s.telemetry, count: s.telemetry.count - 1, lastSeq: s.telemetry.lastSeq - 1 } }, { committed: { ...s.committed, value: s.committed.value - 1 } },
      { price: { ...s.price, rate: s.price.rate + 1 } }, { window: { ...s.window, end: s.window.end + 60_000 } }, { settlementMethod: 'pairgrid/peak-cap/1' }]
    for (const lie of lies) {
      const forged = countersign(signRecord('grid.settlement', { ...s, ...lie }, B), A).record
      rejectedVerdict(name, () => verifyBundle({ ...bundle, records: bundle.records.map((r: Envelope) => r.type === 'grid.settlement' ? forged : r) }))
    }
  })

  it('property: arbitrary JSON and bundle-shaped objects are refused', () => {
    fc.assert(fc.property(fc.jsonValue(), value => { rejectedVerdict(name, () => verifyBundle(value)) }), { numRuns: 800 })
    const shaped = fc.record({
      format: fc.constantFrom('pairgrid/audit-bundle/1', 'x'),
      transaction: fc.constantFrom(H('a'), tx.chain[1]!.id, 'x'),
      exportedBy: fc.constantFrom(A.id, 'x'),
      exportedAt: fc.oneof(fc.integer(), fc.constant(T0)),
      records: fc.array(fc.oneof(signableJson, fc.constantFrom(...bundle.records)), { maxLength: 6 }),
      readings: fc.array(fc.oneof(signableJson, fc.constantFrom(...bundle.readings)), { maxLength: 4 }),
      signals: fc.array(signableJson, { maxLength: 2 })
    }).map(drawn => ({ ...bundle, ...drawn }))
    // A bundle of the real request and commitment (and acceptance) is a genuine, shorter chain;
    // only the real settlement with every reading could verify, and too few are drawn here.
    const real = new Set(bundle.records.map((r: Envelope) => canonicalize(r)))
    fc.assert(fc.property(shaped, value => {
      const genuine = value.records.every((r: unknown) => real.has(canonicalize(r))) && !value.records.some((r: Envelope) => r.type === 'grid.settlement')
      if (genuine) { if (verdictOf(name, () => verifyBundle(value)).ok) tally(name).same++; return }
      rejectedVerdict(name, () => verifyBundle(value))
    }), { numRuns: 800 })
  })
})

describe('fuzz checkTelemetry', () => {
  const name = 'checkTelemetry'
  const tx = settledTransaction()
  const readings = tx.readings as Json[]
  const check = (raw: unknown[], meter = M.id, span = tx.span) => () => checkTelemetry(raw, meter, span)

  it('the real readings check out', () => {
    expect(checkTelemetry(readings, M.id, tx.span).ok).toBe(true)
  })

  it('one readings array is checked once per meter and span (a window\'s settlements share it); a fresh check, as an audit makes, checks again', () => {
    const shared = [...readings]
    const first = checkTelemetry(shared, M.id, tx.span)
    expect(checkTelemetry(shared, M.id, tx.span)).toBe(first)
    const otherMeter = checkTelemetry(shared, X.id, tx.span)
    expect(otherMeter.ok).toBe(false)
    expect(checkTelemetry(shared, M.id, tx.span).ok).toBe(true)
    const fresh = checkTelemetry(shared, M.id, tx.span, { fresh: true })
    expect(fresh).not.toBe(first)
    expect(fresh).toEqual(first)
  })

  it('property: any unsigned change to a reading is refused', () => {
    fc.assert(fc.property(fc.constantFrom(...pathsOf(readings)), fc.oneof(signableJson, fc.constantFrom(...NUMBER_TEXTS)), (path, value) => {
      const changed = setAt(readings, path, value)
      fc.pre(canonicalize(changed) !== canonicalize(readings))
      rejectedVerdict(name, check(changed))
    }), { numRuns: 500 })
  })

  it('missing, duplicated, reordered, foreign, re-timed readings; wrong meter or span', () => {
    const n = readings.length
    const resign = (i: number, change: Json, keys = M): Envelope => signRecord('meter.reading', { ...readings[i].body, ...change }, keys).record
    const cases: unknown[][] = [
      [], [readings[0]], readings.slice(1), readings.slice(0, -1), [...readings].reverse(), [...readings, readings.at(-1)], [null, ...readings], [...readings, 1],
      ...Array.from({ length: n - 2 }, (_, i) => readings.filter((_r, j) => j !== i + 1)),
      ...Array.from({ length: n - 1 }, (_, i) => [...readings.slice(0, i), readings[i + 1], readings[i], ...readings.slice(i + 2)]),
      ...Array.from({ length: n }, (_, i) => setAt(readings, [i], resign(i, { meter: X.id }, X))),
      ...Array.from({ length: n }, (_, i) => setAt(readings, [i], resign(i, { seq: readings[i].body.seq + 1 }))),
      ...Array.from({ length: n }, (_, i) => setAt(readings, [i], resign(i, { t: readings[i].body.t + 1 })))
    ]
    for (const c of cases) rejectedVerdict(name, check(c))
    rejectedVerdict(name, check(readings, X.id))
    rejectedVerdict(name, check(readings, M.id, { from: tx.span.from - METER_INTERVAL_MS, to: tx.span.to }))
    rejectedVerdict(name, check(readings, M.id, { from: tx.span.from, to: tx.span.to + 1 }))
  })

  it('property: arbitrary arrays are refused', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.jsonValue(), fc.constantFrom(...readings)), { maxLength: 8 }), raw => {
      rejectedVerdict(name, check(raw))
    }), { numRuns: 800 })
  })
})

// ---- every settlement method on extreme but validly signed readings ----------------------------

describe('fuzz settlement methods through verifyBundle', () => {
  // Not bad input: chains signed by the real parties over meter readings with any schema-valid
  // registers, powers, voltages and setpoints. Both parties and any auditor must compute the same
  // settlement without throwing, and the settlement the provider would sign must meet the schema.
  const INTERVAL = 2_000
  const WINDOW = 60_000
  const steps = (2 * WINDOW) / INTERVAL
  // Register steps up to 1 GW over an interval, the bound avgW has. Larger steps are a known
  // fault: methods then compute baselines beyond the settlement schema's ±1e12 (see the report).
  const small = fc.oneof(fc.nat({ max: 200 }), fc.nat({ max: Math.floor((1e9 * INTERVAL) / 3_600_000) }), fc.constant(0))
  const reading = fc.record({ dImport: small, dExport: small, dImportVarh: small, dExportVarh: small,
    avgW: fc.integer({ min: -1e9, max: 1e9 }), avgVar: fc.integer({ min: -1e9, max: 1e9 }), voltagePu: fc.integer({ min: 0, max: 2000 }),
    frequencyMHz: fc.integer({ min: 40_000, max: 70_000 }), rocofMHzPerS: fc.integer({ min: -100_000, max: 100_000 }) })
  const terms = fc.record({
    quantity: fc.oneof(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e12 })),
    rate: fc.oneof(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e12 })),
    toleranceBp: fc.integer({ min: 0, max: 10_000 }),
    readings: fc.array(reading, { minLength: steps + 1, maxLength: steps + 1 }),
    setpoints: fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: WINDOW / INTERVAL, maxLength: WINDOW / INTERVAL })
  })
  let chains = 0
  const outcomes: Record<string, number> = {}
  afterAll(() => { console.log(`fuzz settlement methods: ${chains} signed chains with extreme readings, none threw (${Object.entries(outcomes).map(([k, n]) => `${k} ${n}`).join(', ')})`) })

  for (const id of knownSettlementMethods()) {
    it(id, () => {
      const method = settlementMethod(id)!
      fc.assert(fc.property(terms, t => {
        chains++
        const start = T0
        const request = signRecord('grid.request', {
          ...sampleRequest(A.id), service: method.service, window: { start, end: start + WINDOW }, settlementMethod: id, toleranceBp: t.toleranceBp,
          quantity: { value: t.quantity, unit: method.unit }, price: { ...tariffPrice, rate: t.rate, rateUnit: method.unit === 'W' ? 'MWh' : 'Mvarh' }
        }, A)
        const r = request.record.body
        const commitment = signRecord('grid.commitment', { request: request.id, marketplace: r.marketplace, requester: A.id, provider: B.id, service: r.service, window: r.window, quantity: r.quantity, price: r.price, settlementMethod: id, meter: M.id, elements: ['battery'], issuedAt: r.issuedAt }, B)
        const acceptance = signRecord('grid.acceptance', { commitment: commitment.id, request: request.id, requester: A.id, provider: B.id, issuedAt: r.issuedAt }, A)
        const registers = { importWh: 0, exportWh: 0, importVarh: 0, exportVarh: 0 }
        const readings = t.readings.map((x, seq) => {
          registers.importWh += x.dImport; registers.exportWh += x.dExport; registers.importVarh += x.dImportVarh; registers.exportVarh += x.dExportVarh
          const { dImport, dExport, dImportVarh, dExportVarh, ...rest } = x
          return signRecord('meter.reading', { meter: M.id, seq, t: start - WINDOW + seq * INTERVAL, intervalMs: INTERVAL, ...registers, ...rest }, M).record
        })
        const signals = method.signal ? t.setpoints.map((setpointPm, seq) => signRecord('grid.signal', { commitment: commitment.id, requester: A.id, provider: B.id, seq, t: start + seq * INTERVAL, setpointPm }, A).record) : []
        let computed: ReturnType<typeof computeSettlement>
        try { computed = computeSettlement(commitment, acceptance, readings, signals, LEDGER, start + 2 * WINDOW) } catch (err) { throw new Error(`computeSettlement threw: ${String(err)}`) }
        if (!computed.ok) { outcomes[computed.reason] = (outcomes[computed.reason] ?? 0) + 1; return }
        const fault = bodyChecker('grid.settlement').Errors(computed.body).First()
        expect(fault, `${id} computes a settlement its own schema refuses: ${fault?.path ?? ''} ${fault?.message ?? ''} = ${JSON.stringify(getAt(computed.body, (fault?.path ?? '').split('/').slice(1)))}`).toBeUndefined()
        const settlement = countersign(signRecord('grid.settlement', computed.body, B), A)
        const bundle = makeBundle(commitment.id, { chain: [request, commitment, acceptance, settlement], readings, signals, credentials: [] }, A.id, start + 3 * WINDOW)
        let verdict: ReturnType<typeof verifyBundle>
        try { verdict = verifyBundle(JSON.parse(JSON.stringify(bundle))) } catch (err) { throw new Error(`verifyBundle threw: ${String(err)}`) }
        const outcome = verdict.ok ? 'settled' : /under-delivery/.test(verdict.fault) ? 'under-delivery' : `refused: ${verdict.fault}`
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
        expect(outcome, 'the auditor disagrees with the parties').toMatch(/^(settled|under-delivery)$/)
      }), { numRuns: 30 })
    })
  }
})

// ---- parseCommitmentQuery (telemetry and signals stream requests) ------------------------------

describe('fuzz parseCommitmentQuery', () => {
  const name = 'parseCommitmentQuery'
  const id = H('b')
  const valid = { commitment: id }
  const parse = (bytes: Uint8Array) => () => parseCommitmentQuery(bytes)

  it('takes exactly {"commitment": <record id>}', () => {
    expect(parseCommitmentQuery(encode(valid))).toBe(id)
    const bytes = encode(valid)
    for (let i = 0; i < bytes.length; i++) refused(name, parse(bytes.subarray(0, i)), ['malformed-json'], RefusedError)
    const bad = [{}, { commitment: id.toUpperCase() }, { commitment: id.slice(1) }, { commitment: id + '0' }, { commitment: 1 }, { commitment: null }, { commitment: [id] },
      { commitment: id, x: 1 }, { Commitment: id }, [id], id, null, 1, { commitment: ` ${id}` }, { commitment: `${id}\n` }]
    for (const b of bad) refused(name, parse(encode(b)), ['schema'], RefusedError)
    refused(name, parse(encode(setAt(valid, ['__proto__'], { commitment: id }))), ['schema'], RefusedError)
    refused(name, parse(new TextEncoder().encode('['.repeat(100_000) + ']'.repeat(100_000))), ['schema', 'malformed-json'], RefusedError)
  })

  it('property: arbitrary bytes and JSON are refused; changed queries never name another id', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => {
      const r = attempt(name, parse(bytes), RefusedError)
      if (r.ok) { tally(name).accepted++; expect.fail(`accepted ${Buffer.from(bytes).toString('hex')}`) }
    }), { numRuns: 2000 })
    fc.assert(fc.property(fc.jsonValue(), value => { refused(name, parse(encode(value)), undefined, RefusedError) }), { numRuns: 1500 })
    fc.assert(fc.property(fc.constantFrom<Path>(['commitment'], ['x']), signableJson, (path, value) => {
      refusedUnlessSame(name, parse(encode(setAt(valid, path, value))), [id], RefusedError)
    }), { numRuns: 1500 })
  })
})
