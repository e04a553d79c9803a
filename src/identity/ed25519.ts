// Ed25519 over node:crypto: ~10x faster than a pure-JS verifier here (DESIGN.md), which the
// dispatch path needs. Keys travel as raw 32-byte values; DER wrappers are fixed prefixes.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { fromBase64url, toBase64url } from '../records/bytes.js'

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export interface KeyPair {
  /** 32-byte private seed */
  readonly seed: Uint8Array
  /** 32-byte raw public key */
  readonly publicKey: Uint8Array
  /** base64url of the public key: how records name a party */
  readonly id: string
  sign: (message: Uint8Array) => Uint8Array
}

export function keyPairFromSeed (seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes')
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length))
  return {
    seed,
    publicKey,
    id: toBase64url(publicKey),
    sign: (message) => new Uint8Array(sign(null, message, privateKey))
  }
}

// Parsing a public key into a KeyObject costs about as much as a verify; counterparties are few.
const publicKeyCache = new Map<string, KeyObject>()
const CACHE_LIMIT = 4096

function publicKeyObject (id: string): KeyObject | undefined {
  let key = publicKeyCache.get(id)
  if (key !== undefined) return key
  const raw = fromBase64url(id)
  if (raw.length !== 32 || toBase64url(raw) !== id) return undefined
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
  } catch {
    return undefined
  }
  if (publicKeyCache.size >= CACHE_LIMIT) publicKeyCache.clear()
  publicKeyCache.set(id, key)
  return key
}

/** Verifies an Ed25519 signature by the party named `id` (base64url public key). Never throws. */
export function verifySignature (id: string, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false
  const key = publicKeyObject(id)
  if (key === undefined) return false
  try {
    return verify(null, message, key, signature)
  } catch {
    return false
  }
}
