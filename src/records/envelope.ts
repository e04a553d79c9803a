// The signed envelope: {v, type, body, sigs}. The id and every signature cover the canonical
// unsigned form {v, type, body}, so countersigning adds a signature without changing the id.
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { canonicalBytes, canonicalize } from './canonical.js'
import { fromBase64url, sha256Hex, toBase64url } from './bytes.js'
import { RecordError } from './errors.js'
import { bodyChecker, isRecordType, recordSpecs, type BodyOf, type RecordType } from './registry.js'
import { verifySignature, type KeyPair } from '../identity/ed25519.js'
import { PartyId } from './common-schemas.js'

export const ENVELOPE_VERSION = 1
export const SIGNATURE_DOMAIN = 'pairgrid/record/v1'
/** Largest encoded record accepted from the network. */
export const MAX_RECORD_BYTES = 16 * 1024
const MAX_DEPTH = 8

export interface Signature { by: string, sig: string }

export interface Envelope<T extends RecordType = RecordType> {
  v: 1
  type: T
  body: BodyOf<T>
  sigs: Signature[]
}

/** A record whose schema and signatures have been checked, with its id. */
export interface Verified<T extends RecordType = RecordType> {
  id: string
  record: Envelope<T>
  /** The record's canonical JSON, when signing or verifying has already built it. */
  canonical?: string
}

export const EnvelopeSchema = Type.Object({
  v: Type.Literal(ENVELOPE_VERSION),
  type: Type.String({ maxLength: 64 }),
  body: Type.Object({}, { additionalProperties: true }),
  sigs: Type.Array(Type.Object({
    by: PartyId,
    sig: Type.String({ pattern: '^[A-Za-z0-9_-]{86}$', description: 'base64url Ed25519 signature' })
  }, { additionalProperties: false }), { minItems: 1, maxItems: 4 })
}, { additionalProperties: false })
const envelopeCheck = TypeCompiler.Compile(EnvelopeSchema)

const encoder = new TextEncoder()
const domainPrefix = encoder.encode(SIGNATURE_DOMAIN + '\0')

function unsignedText (type: RecordType, body: unknown): string {
  return canonicalize({ v: ENVELOPE_VERSION, type, body })
}

function unsignedBytes (type: RecordType, body: unknown): Uint8Array {
  return encoder.encode(unsignedText(type, body))
}

/**
 * The envelope's canonical JSON from its unsigned form: keys sort as body, sigs, type, v, so the
 * signatures go in before the unsigned form's fixed `,"type":…,"v":1}` ending.
 */
function envelopeText (unsigned: string, type: RecordType, sigs: Signature[]): string {
  const tail = `,"type":${JSON.stringify(type)},"v":${ENVELOPE_VERSION}}`
  return `${unsigned.slice(0, unsigned.length - tail.length)},"sigs":${canonicalize(sigs)}${tail}`
}

function signingMessage (type: RecordType, unsigned: Uint8Array): Uint8Array {
  const typeBytes = encoder.encode(type + '\0')
  const msg = new Uint8Array(domainPrefix.length + typeBytes.length + unsigned.length)
  msg.set(domainPrefix, 0)
  msg.set(typeBytes, domainPrefix.length)
  msg.set(unsigned, domainPrefix.length + typeBytes.length)
  return msg
}

export function recordId (record: Pick<Envelope, 'type' | 'body'>): string {
  return sha256Hex(unsignedBytes(record.type, record.body))
}

export function signRecord<T extends RecordType> (type: T, body: BodyOf<T>, keys: KeyPair): Verified<T> {
  const text = unsignedText(type, body)
  const unsigned = encoder.encode(text)
  const sigs = [{ by: keys.id, sig: toBase64url(keys.sign(signingMessage(type, unsigned))) }]
  const id = sha256Hex(unsigned)
  rememberVerified(id, sigs[0]!)
  return { id, record: { v: ENVELOPE_VERSION, type, body, sigs }, canonical: envelopeText(text, type, sigs) }
}

/** Adds the next expected signature (countersign). Refuses a signer the record does not name next. */
export function countersign<T extends RecordType> (signed: Verified<T>, keys: KeyPair): Verified<T> {
  const { record } = signed
  const expected = expectedSigners(record)
  if (expected[record.sigs.length] !== keys.id) {
    throw new RecordError('unexpected-signer', `${record.type} does not expect a signature from ${keys.id} at position ${record.sigs.length}`)
  }
  const text = unsignedText(record.type, record.body)
  const sigs = [...record.sigs, { by: keys.id, sig: toBase64url(keys.sign(signingMessage(record.type, encoder.encode(text)))) }]
  rememberVerified(signed.id, sigs.at(-1)!)
  return { id: signed.id, record: { ...record, sigs }, canonical: envelopeText(text, record.type, sigs) }
}

function expectedSigners (record: Pick<Envelope, 'type' | 'body'>): string[] {
  return (recordSpecs[record.type].signers as (b: unknown) => string[])(record.body)
}

export function isFullySigned (record: Envelope): boolean {
  return record.sigs.length === expectedSigners(record).length
}

function depthOf (value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0
  if (limit <= 0) return 1
  let max = 0
  for (const v of Object.values(value)) max = Math.max(max, depthOf(v, limit - 1))
  return max + 1
}

/**
 * Signatures this process has verified, as `id signer signature`: the id is the SHA-256 of the
 * unsigned form (type and body), so an entry vouches for exactly one message, key and signature.
 * Settlements of transactions on one meter carry the same readings; each is verified once.
 * Bounded, oldest dropped first.
 */
const verifiedSignatures = new Set<string>()
const VERIFIED_SIGNATURES_MAX = 32_768

/** A signature known good: verified here, or made here with our own key over these bytes. */
function rememberVerified (id: string, s: Signature): void {
  verifiedSignatures.add(`${id} ${s.by} ${s.sig}`)
  if (verifiedSignatures.size > VERIFIED_SIGNATURES_MAX) verifiedSignatures.delete(verifiedSignatures.values().next().value!)
}

export interface VerifyOptions {
  /** Verify every signature even if this process verified it before (audits measure and trust nothing). */
  fresh?: boolean
}

/**
 * Checks an already-parsed value as a record: envelope shape, body schema, semantic checks,
 * then every signature against the parties the body names, in order.
 */
export function verifyRecord<T extends RecordType = RecordType> (value: unknown, allowed?: readonly T[], opts: VerifyOptions = {}): Verified<T> {
  if (depthOf(value, MAX_DEPTH + 1) > MAX_DEPTH) throw new RecordError('too-deep', `record nests deeper than ${MAX_DEPTH} levels`)
  if (!envelopeCheck.Check(value)) {
    const first = envelopeCheck.Errors(value).First()
    throw new RecordError('schema', `envelope: ${first?.path ?? ''} ${first?.message ?? 'invalid'}`)
  }
  const env = value as unknown as Envelope
  if (!isRecordType(env.type) || (allowed !== undefined && !(allowed as readonly string[]).includes(env.type))) {
    throw new RecordError('unknown-type', `record type ${JSON.stringify(env.type)} is not accepted here`)
  }
  const checker = bodyChecker(env.type)
  if (!checker.Check(env.body)) {
    const first = checker.Errors(env.body).First()
    throw new RecordError('schema', `${env.type}: ${first?.path ?? ''} ${first?.message ?? 'invalid'}`)
  }
  const spec = recordSpecs[env.type]
  const problem = 'check' in spec ? (spec.check as (b: unknown) => string | undefined)(env.body) : undefined
  if (problem !== undefined) throw new RecordError('schema', `${env.type}: ${problem}`)

  const signers = expectedSigners(env)
  if (env.sigs.length < spec.minSignatures) throw new RecordError('missing-signature', `${env.type} needs ${spec.minSignatures} signature(s)`)
  if (env.sigs.length > signers.length) throw new RecordError('unexpected-signer', `${env.type} carries more signatures than it names signers`)
  const text = unsignedText(env.type, env.body)
  const unsigned = encoder.encode(text)
  const id = sha256Hex(unsigned)
  let msg: Uint8Array | undefined
  env.sigs.forEach((s, i) => {
    if (s.by !== signers[i]) throw new RecordError('unexpected-signer', `${env.type} signature ${i} is by ${s.by}, expected ${signers[i] ?? 'nobody'}`)
    const sig = fromBase64url(s.sig)
    // base64url of 64 bytes leaves 4 slack bits: only the canonical spelling is one signature.
    if (toBase64url(sig) !== s.sig) throw new RecordError('bad-signature', `${env.type} signature ${i} is not canonical base64url`)
    if (opts.fresh !== true && verifiedSignatures.has(`${id} ${s.by} ${s.sig}`)) return
    msg ??= signingMessage(env.type, unsigned)
    if (!verifySignature(s.by, msg, sig)) throw new RecordError('bad-signature', `${env.type} signature ${i} by ${s.by} does not verify`)
    rememberVerified(id, s)
  })
  return { id, record: env as Envelope<T>, canonical: envelopeText(text, env.type, env.sigs) }
}

/** Decodes bytes from the network into a verified record. Throws RecordError with a typed code. */
export function decodeRecord<T extends RecordType = RecordType> (bytes: Uint8Array, allowed?: readonly T[], maxBytes = MAX_RECORD_BYTES, opts: VerifyOptions = {}): Verified<T> {
  if (bytes.length > maxBytes) throw new RecordError('oversized', `record of ${bytes.length} bytes exceeds ${maxBytes}`)
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new RecordError('malformed-json', `not UTF-8 JSON: ${(err as Error).message}`)
  }
  return verifyRecord(value, allowed, opts)
}

export function encodeRecord (record: Envelope): Uint8Array {
  return canonicalBytes(record)
}
