// Key files hold the 32-byte seed as JSON and are created 0600: only the operator reads them.
// With a passphrase the seed is stored encrypted (key-encryption.ts) and never in the clear.
import { randomBytes } from 'node:crypto'
import { open, readFile, stat } from 'node:fs/promises'
import { keyPairFromSeed, type KeyPair } from './ed25519.js'
import { decryptSeed, encryptionProblem, encryptSeed, type KeyEncryption } from './key-encryption.js'
import { fromBase64url, toBase64url } from '../records/bytes.js'

const KIND = 'pairgrid-ed25519-key'
export const PASSPHRASE_ENV = 'PAIRGRID_PASSPHRASE'

interface KeyFileHeader { kind: typeof KIND, purpose: string, publicKey: string }
export type KeyFile = KeyFileHeader & ({ seed: string } | { encryption: KeyEncryption, ciphertext: string })

export type KeyFileErrorCode = 'insecure-mode' | 'not-a-key-file' | 'passphrase-required' | 'wrong-passphrase' | 'inconsistent'

export class KeyFileError extends Error {
  constructor (readonly code: KeyFileErrorCode, readonly path: string, detail: string) {
    super(`key file ${path}: ${detail}`)
    this.name = 'KeyFileError'
  }
}

export function generateKeyPair (): KeyPair {
  return keyPairFromSeed(new Uint8Array(randomBytes(32)))
}

// The header fields are authenticated with the ciphertext: a file cannot be relabelled.
const context = (h: KeyFileHeader): string => `${h.kind}\0${h.publicKey}\0${h.purpose}`

/** Writes a new key file (never over an existing one), encrypted when a passphrase is given. */
export async function writeKeyFile (path: string, keys: KeyPair, purpose: string, passphrase?: string): Promise<void> {
  const header: KeyFileHeader = { kind: KIND, purpose, publicKey: keys.id }
  if (passphrase === '') throw new KeyFileError('passphrase-required', path, 'an empty passphrase protects nothing')
  const body: KeyFile = passphrase === undefined
    ? { ...header, seed: toBase64url(keys.seed) }
    : { ...header, ...await encryptSeed(keys.seed, passphrase, context(header)) }
  const file = await open(path, 'wx', 0o600)
  try {
    await file.writeFile(JSON.stringify(body, null, 2) + '\n')
    await file.sync()
  } finally {
    await file.close()
  }
}

/** The operator's passphrase for encrypted key files: PAIRGRID_PASSPHRASE, never a flag (it would show in `ps`). */
export function operatorPassphrase (): string | undefined {
  const p = process.env.PAIRGRID_PASSPHRASE
  return p === undefined || p === '' ? undefined : p
}

/** Reads a key file; an encrypted one needs its passphrase (an empty one counts as none). */
export async function readKeyFile (path: string, passphrase = operatorPassphrase()): Promise<KeyPair> {
  const info = await stat(path)
  if ((info.mode & 0o077) !== 0) {
    throw new KeyFileError('insecure-mode', path, `readable by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`)
  }
  let parsed: Partial<KeyFileHeader & { seed: unknown, encryption: unknown, ciphertext: unknown }>
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as typeof parsed
  } catch (err) {
    throw new KeyFileError('not-a-key-file', path, `not JSON: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || parsed.kind !== KIND) throw new KeyFileError('not-a-key-file', path, 'not a pairgrid key file')
  const seed = typeof parsed.seed === 'string' ? fromBase64url(parsed.seed) : await decrypt(path, parsed, passphrase)
  if (seed.length !== 32) throw new KeyFileError('not-a-key-file', path, 'its seed is not 32 bytes')
  const keys = keyPairFromSeed(seed)
  if (parsed.publicKey !== undefined && parsed.publicKey !== keys.id) {
    throw new KeyFileError('inconsistent', path, 'its public key does not match its seed')
  }
  return keys
}

async function decrypt (path: string, parsed: Partial<KeyFileHeader & { encryption: unknown, ciphertext: unknown }>, passphrase: string | undefined): Promise<Uint8Array> {
  if (parsed.encryption === undefined || typeof parsed.ciphertext !== 'string' || typeof parsed.publicKey !== 'string' || typeof parsed.purpose !== 'string') {
    throw new KeyFileError('not-a-key-file', path, 'neither a seed nor an encrypted seed with its public key and purpose')
  }
  const problem = encryptionProblem(parsed.encryption)
  if (problem !== undefined) throw new KeyFileError('not-a-key-file', path, problem)
  if (passphrase === undefined || passphrase === '') {
    throw new KeyFileError('passphrase-required', path, `encrypted with a passphrase; set ${PASSPHRASE_ENV} to it`)
  }
  const seed = await decryptSeed(parsed.encryption as KeyEncryption, parsed.ciphertext, passphrase, context(parsed as KeyFileHeader))
  if (seed === undefined) throw new KeyFileError('wrong-passphrase', path, 'wrong passphrase or damaged key file')
  return seed
}
