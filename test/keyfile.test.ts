// Key files: 0600, refused when others can read them, and with a passphrase the seed is stored
// only encrypted (scrypt + AES-256-GCM) and authenticated with the file's header.
import { describe, it, expect, afterAll } from 'vitest'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, readKeyFile, writeKeyFile, KeyFileError } from '../src/identity/keyfile.js'
import { SCRYPT_DEFAULTS } from '../src/identity/key-encryption.js'
import { toBase64url, toHex } from '../src/records/bytes.js'

const dir = await mkdtemp(join(tmpdir(), 'pairgrid-keyfile-'))
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })
let n = 0
const fresh = (): string => join(dir, `k${n++}.key`)
const PASS = 'correct horse battery staple'

async function encryptedFile (): Promise<{ path: string, keys: ReturnType<typeof generateKeyPair> }> {
  const keys = generateKeyPair()
  const path = fresh()
  await writeKeyFile(path, keys, 'party key of test', PASS)
  return { path, keys }
}

/** Rewrites one JSON field of a key file, keeping its mode. */
async function edit (path: string, change: (f: Record<string, any>) => void): Promise<void> {
  const f = JSON.parse(await readFile(path, 'utf8')) as Record<string, any>
  change(f)
  await writeFile(path, JSON.stringify(f))
}

/** Flips the first character of a base64url string to another valid one. */
const flip = (s: string): string => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)

async function refused (p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(KeyFileError)
  expect(err).toMatchObject({ code })
  expect((err as Error).message).toMatch(message)
}

describe('key files', () => {
  it('plain files round-trip, 0600, and keep the two-argument signatures', async () => {
    const keys = generateKeyPair()
    const path = fresh()
    await writeKeyFile(path, keys, 'meter key')
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await readKeyFile(path)).id).toBe(keys.id)
    await expect(writeKeyFile(path, keys, 'again')).rejects.toThrow(/EEXIST/)
  })

  it('a file readable by group or others is refused, plain or encrypted', async () => {
    const keys = generateKeyPair()
    const path = fresh()
    await writeKeyFile(path, keys, 'x')
    for (const mode of [0o640, 0o604, 0o644]) {
      await chmod(path, mode)
      await refused(readKeyFile(path), 'insecure-mode', new RegExp(`readable by others \\(mode ${mode.toString(8)}\\); run: chmod 600`))
    }
    const enc = await encryptedFile()
    await chmod(enc.path, 0o644)
    await refused(readKeyFile(enc.path, PASS), 'insecure-mode', /readable by others/)
  })

  it('encrypted: round trip with the passphrase, scrypt parameters stored, file 0600', async () => {
    const { path, keys } = await encryptedFile()
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, any>
    expect(file).toMatchObject({ kind: 'pairgrid-ed25519-key', purpose: 'party key of test', publicKey: keys.id, encryption: { kdf: 'scrypt', cipher: 'aes-256-gcm' } })
    expect(file.encryption.N).toBeGreaterThanOrEqual(2 ** 15)
    expect(file.encryption).toMatchObject(SCRYPT_DEFAULTS)
    expect(file.seed).toBeUndefined()
    const back = await readKeyFile(path, PASS)
    expect(back.id).toBe(keys.id)
    expect(toHex(back.seed)).toBe(toHex(keys.seed))
  })

  it('the encrypted file never contains the seed, in hex or base64(url)', async () => {
    const { path, keys } = await encryptedFile()
    const text = await readFile(path, 'utf8')
    for (const spelling of [toHex(keys.seed), toBase64url(keys.seed), Buffer.from(keys.seed).toString('base64')]) {
      expect(text).not.toContain(spelling)
      expect(text).not.toContain(spelling.slice(0, 16))
    }
    expect((await readFile(path)).includes(Buffer.from(keys.seed))).toBe(false)
  })

  it('without a passphrase: a clear error naming PAIRGRID_PASSPHRASE', async () => {
    const { path } = await encryptedFile()
    await refused(readKeyFile(path), 'passphrase-required', /encrypted with a passphrase; set PAIRGRID_PASSPHRASE/)
    await refused(readKeyFile(path, ''), 'passphrase-required', /PAIRGRID_PASSPHRASE/)
  })

  it('a wrong passphrase', async () => {
    const { path } = await encryptedFile()
    await refused(readKeyFile(path, PASS + ' '), 'wrong-passphrase', /wrong passphrase or damaged key file/)
  })

  it('tampered ciphertext, salt, nonce or authenticated header fields', async () => {
    const tampers: Array<[string, (f: Record<string, any>) => void]> = [
      ['ciphertext', f => { f.ciphertext = flip(f.ciphertext as string) }],
      ['auth tag', f => { const c = f.ciphertext as string; f.ciphertext = c.slice(0, -2) + (c.at(-2) === 'A' ? 'B' : 'A') + c.at(-1)! }],
      ['salt', f => { f.encryption.salt = flip(f.encryption.salt as string) }],
      ['nonce', f => { f.encryption.nonce = flip(f.encryption.nonce as string) }],
      ['purpose', f => { f.purpose = 'meter key' }],
      ['scrypt r', f => { f.encryption.r = 4 }]
    ]
    for (const [what, change] of tampers) {
      const { path } = await encryptedFile()
      await edit(path, change)
      await refused(readKeyFile(path, PASS), 'wrong-passphrase', /wrong passphrase or damaged key file/).catch((e: Error) => { throw new Error(`${what}: ${e.message}`) })
    }
  })

  it('a public key swapped for another party\'s is refused', async () => {
    const { path } = await encryptedFile()
    await edit(path, f => { f.publicKey = generateKeyPair().id })
    await refused(readKeyFile(path, PASS), 'wrong-passphrase', /wrong passphrase or damaged key file/)
    const plain = fresh()
    await writeKeyFile(plain, generateKeyPair(), 'x')
    await edit(plain, f => { f.publicKey = generateKeyPair().id })
    await refused(readKeyFile(plain), 'inconsistent', /public key does not match its seed/)
  })

  it('damaged or hostile parameters are refused before any work', async () => {
    const cases: Array<[string, (f: Record<string, any>) => void, RegExp]> = [
      ['unknown kdf', f => { f.encryption.kdf = 'pbkdf2' }, /unsupported kdf "pbkdf2"/],
      ['unknown cipher', f => { f.encryption.cipher = 'aes-128-cbc' }, /unsupported cipher/],
      ['N not a power of two', f => { f.encryption.N = 30000 }, /power of two/],
      ['memory bomb', f => { f.encryption.N = 2 ** 24; f.encryption.r = 64 }, /more than/],
      ['short salt', f => { f.encryption.salt = 'AAAA' }, /salt/],
      ['no ciphertext', f => { delete f.ciphertext }, /neither a seed nor an encrypted seed/]
    ]
    for (const [what, change, message] of cases) {
      const { path } = await encryptedFile()
      await edit(path, change)
      await refused(readKeyFile(path, PASS), 'not-a-key-file', message).catch((e: Error) => { throw new Error(`${what}: ${e.message}`) })
    }
    const junk = fresh()
    await writeFile(junk, 'not json', { mode: 0o600 })
    await refused(readKeyFile(junk), 'not-a-key-file', /not JSON/)
  })

  it('an empty passphrase is refused when writing', async () => {
    await refused(writeKeyFile(fresh(), generateKeyPair(), 'x', ''), 'passphrase-required', /empty passphrase/)
  })

  it('the passphrase is compared in Unicode NFC: composed and decomposed spellings both open it', async () => {
    const keys = generateKeyPair()
    const path = fresh()
    await writeKeyFile(path, keys, 'x', 'caf\u00e9')
    expect((await readKeyFile(path, 'cafe\u0301')).id).toBe(keys.id)
  })
})
