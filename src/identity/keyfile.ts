// Key files hold the 32-byte seed as JSON and are created 0600: only the operator reads them.
import { randomBytes } from 'node:crypto'
import { readFile, writeFile, stat } from 'node:fs/promises'
import { keyPairFromSeed, type KeyPair } from './ed25519.js'
import { fromBase64url, toBase64url } from '../records/bytes.js'

export interface KeyFile {
  kind: 'pairgrid-ed25519-key'
  purpose: string
  seed: string
  publicKey: string
}

export function generateKeyPair (): KeyPair {
  return keyPairFromSeed(new Uint8Array(randomBytes(32)))
}

export async function writeKeyFile (path: string, keys: KeyPair, purpose: string): Promise<void> {
  const body: KeyFile = { kind: 'pairgrid-ed25519-key', purpose, seed: toBase64url(keys.seed), publicKey: keys.id }
  await writeFile(path, JSON.stringify(body, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
}

export async function readKeyFile (path: string): Promise<KeyPair> {
  const info = await stat(path)
  if ((info.mode & 0o077) !== 0) {
    throw new Error(`key file ${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`)
  }
  const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<KeyFile>
  if (parsed.kind !== 'pairgrid-ed25519-key' || typeof parsed.seed !== 'string') {
    throw new Error(`${path} is not a pairgrid key file`)
  }
  const keys = keyPairFromSeed(fromBase64url(parsed.seed))
  if (parsed.publicKey !== undefined && parsed.publicKey !== keys.id) {
    throw new Error(`key file ${path} is inconsistent: its public key does not match its seed`)
  }
  return keys
}
