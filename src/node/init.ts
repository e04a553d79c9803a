// `pairgrid init`: a data dir with the party key, (for a building) its meter key, and config.
import { mkdir, stat } from 'node:fs/promises'
import { generateKeyPair, writeKeyFile } from '../identity/keyfile.js'
import { writeConfig, type NodeConfig } from './config.js'
import { dataPaths } from './data-dir.js'

export async function initNode (dir: string, config: NodeConfig, passphrase?: string): Promise<{ party: string, meter?: string }> {
  const paths = dataPaths(dir)
  if (await stat(paths.config).then(() => true, () => false)) throw new Error(`${dir} is already initialised (${paths.config} exists); pick another --data dir`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await mkdir(`${dir}/keys`, { mode: 0o700 })
  const party = generateKeyPair()
  await writeKeyFile(paths.partyKey, party, `party key of ${config.name}`, passphrase)
  let meter: string | undefined
  if (config.building !== undefined) {
    // Simulated meter: its key lives here; a real meter keeps it in its secure element.
    const meterKeys = generateKeyPair()
    await writeKeyFile(paths.meterKey, meterKeys, `meter key of ${config.name} (simulated meter)`, passphrase)
    meter = meterKeys.id
  }
  await writeConfig(paths.config, config)
  return { party: party.id, ...(meter !== undefined ? { meter } : {}) }
}
