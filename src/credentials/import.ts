// Signed credential files an operator drops into <data>/credentials/: one record, an array of
// records, or {"records": [...]} per file. Each must verify; a bad file is named in the error.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { verifyRecord, type Verified } from '../records/envelope.js'
import { CREDENTIAL_TYPES, type CredentialType } from './store.js'

export async function readCredentialFile (path: string): Promise<Array<Verified<CredentialType>>> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as unknown
    const records = Array.isArray(value) ? value : (value as { records?: unknown[] }).records ?? [value]
    return records.map(r => verifyRecord(r, CREDENTIAL_TYPES))
  } catch (err) {
    throw new Error(`credential file ${path} does not verify: ${(err as Error).message}`)
  }
}

export async function readCredentialFiles (dir: string): Promise<Array<Verified<CredentialType>>> {
  const names = await readdir(dir).catch(() => [] as string[])
  const out: Array<Verified<CredentialType>> = []
  for (const name of names.filter(n => n.endsWith('.json')).sort()) out.push(...await readCredentialFile(join(dir, name)))
  return out
}
