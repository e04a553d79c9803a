// Passphrase encryption of a key seed. scrypt is memory-hard (N=2^15, r=8: 32 MiB and ~80 ms a
// guess here), so a stolen key file resists offline guessing; AES-256-GCM authenticates, so a wrong
// passphrase or a changed byte is detected rather than yielding a wrong key. Every parameter is
// stored with the ciphertext: files keep opening if the defaults are raised later.
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto'
import { fromBase64url, toBase64url } from '../records/bytes.js'

export interface KeyEncryption {
  kdf: 'scrypt'
  N: number
  r: number
  p: number
  salt: string
  cipher: 'aes-256-gcm'
  nonce: string
}

export const SCRYPT_DEFAULTS = { N: 2 ** 15, r: 8, p: 1 } as const
// Bounds on parameters read from a file, so a damaged or hostile one cannot demand gigabytes
// of memory or minutes of work.
const MAX_MEMORY = 256 * 1024 * 1024
const MAX_P = 16
const TAG_BYTES = 16

function deriveKey (passphrase: string, salt: Uint8Array, N: number, r: number, p: number): Promise<Buffer> {
  // scrypt needs a little over 128·N·r bytes; Node's default cap (32 MiB) is exactly that for N=2^15, r=8.
  const maxmem = 256 * N * r
  return new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFC'), salt, 32, { N, r, p, maxmem }, (err, key) => { if (err === null) resolve(key); else reject(err) })
  })
}

/** A problem with stored parameters, or undefined when they are usable. */
export function encryptionProblem (e: unknown): string | undefined {
  const x = e as Partial<KeyEncryption> | null
  if (typeof x !== 'object' || x === null) return 'encryption is not an object'
  if (x.kdf !== 'scrypt') return `unsupported kdf ${JSON.stringify(x.kdf)}`
  if (x.cipher !== 'aes-256-gcm') return `unsupported cipher ${JSON.stringify(x.cipher)}`
  const { N, r, p } = x
  if (!Number.isSafeInteger(N) || N! < 2 || N! > 2 ** 30 || (N! & (N! - 1)) !== 0) return 'scrypt N must be a power of two'
  if (!Number.isSafeInteger(r) || r! < 1 || !Number.isSafeInteger(p) || p! < 1 || p! > MAX_P) return `scrypt r must be at least 1 and p 1..${MAX_P}`
  if (128 * N! * r! > MAX_MEMORY) return `scrypt N and r need ${128 * N! * r!} bytes, more than ${MAX_MEMORY}`
  if (typeof x.salt !== 'string' || fromBase64url(x.salt).length < 16) return 'salt must be at least 16 bytes (base64url)'
  if (typeof x.nonce !== 'string' || fromBase64url(x.nonce).length !== 12) return 'nonce must be 12 bytes (base64url)'
  return undefined
}

/**
 * Encrypts a seed; `context` (the file's kind, public key and purpose) is authenticated with it,
 * so none of them can be changed without the passphrase.
 */
export async function encryptSeed (seed: Uint8Array, passphrase: string, context: string): Promise<{ encryption: KeyEncryption, ciphertext: string }> {
  const salt = randomBytes(16)
  const nonce = randomBytes(12)
  const { N, r, p } = SCRYPT_DEFAULTS
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(passphrase, salt, N, r, p), nonce)
  cipher.setAAD(Buffer.from(context))
  const body = Buffer.concat([cipher.update(seed), cipher.final(), cipher.getAuthTag()])
  return {
    encryption: { kdf: 'scrypt', N, r, p, salt: toBase64url(salt), cipher: 'aes-256-gcm', nonce: toBase64url(nonce) },
    ciphertext: toBase64url(body)
  }
}

/** The seed, or undefined when the passphrase is wrong or anything authenticated was changed. */
export async function decryptSeed (encryption: KeyEncryption, ciphertext: string, passphrase: string, context: string): Promise<Uint8Array | undefined> {
  const body = fromBase64url(ciphertext)
  if (body.length <= TAG_BYTES) return undefined
  const key = await deriveKey(passphrase, fromBase64url(encryption.salt), encryption.N, encryption.r, encryption.p)
  const decipher = createDecipheriv('aes-256-gcm', key, fromBase64url(encryption.nonce))
  decipher.setAAD(Buffer.from(context))
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES))
  try {
    return new Uint8Array(Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]))
  } catch {
    return undefined
  }
}
