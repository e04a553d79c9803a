// Sets up a scenario's parties before they start: data dirs and keys, then every signed record
// the rules of engagement need — governance documents (signed by each operator), tariffs,
// framework agreements (signed by both parties), accreditations (signed by their accreditors) —
// written into each party's <data>/credentials/. This is what operators do by hand with
// `pairgrid sign` (see docs/joining.md); the devnet has every key, so it does it for them.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, readKeyFile, writeKeyFile } from '../../identity/keyfile.js'
import type { KeyPair } from '../../identity/ed25519.js'
import { countersign, signRecord, type Envelope } from '../../records/envelope.js'
import { initNode } from '../../node/init.js'
import { readConfig, writeConfig } from '../../node/config.js'
import { dataPaths } from '../../node/data-dir.js'
import { namedBuildingSpec } from '../../building/spec.js'
import type { Scenario } from './scenario.js'
import { siteMeterKey, writeTradeConfig } from './trades.js'

const YEAR_MS = 365 * 86_400_000

export interface Provisioned {
  /** Marketplace name → id (the governance record's id). */
  marketplaces: Map<string, string>
  /** Party name → party id. */
  parties: Map<string, string>
}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

async function authorityKey (root: string, name: string): Promise<KeyPair> {
  const path = join(root, 'authorities', `${name}.key`)
  if (await exists(path)) return await readKeyFile(path)
  await mkdir(join(root, 'authorities'), { recursive: true, mode: 0o700 })
  const keys = generateKeyPair()
  await writeKeyFile(path, keys, `devnet authority ${name}`)
  return keys
}

export async function provision (scenario: Scenario, root: string, simStart: number): Promise<Provisioned> {
  const keys = new Map<string, KeyPair>()
  const meters = new Map<string, string>()
  for (const a of scenario.authorities) keys.set(a.name, await authorityKey(root, a.name))
  for (const [i, p] of scenario.parties.entries()) {
    const dir = join(root, p.name)
    if (!await exists(dataPaths(dir).config)) {
      await initNode(dir, {
        name: p.name,
        kind: p.kind,
        location: { feeder: p.feeder ?? 'feeder-1', node: p.name, latE6: 37_770_000 + i * 900, lonE6: -122_420_000 - i * 700 },
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: [],
        marketplaces: [],
        meterIntervalMs: scenario.meterIntervalMs,
        ...(p.building !== undefined ? { building: typeof p.building === 'string' ? namedBuildingSpec(p.building) : p.building } : {}),
        ...(p.bidRates !== undefined ? { bidRates: p.bidRates } : {})
      })
    }
    keys.set(p.name, await readKeyFile(dataPaths(dir).partyKey))
    if (p.building !== undefined) meters.set(p.name, (await readKeyFile(dataPaths(dir).meterKey)).id)
    else if (p.trade?.ev !== undefined) meters.set(p.name, await siteMeterKey(dir, p.name))
  }
  const key = (name: string): KeyPair => keys.get(name)!
  const files = new Map<string, Envelope[]>(scenario.parties.map(p => [p.name, []]))
  const give = (party: string, record: Envelope): void => { files.get(party)!.push(record) }

  const marketplaces = new Map<string, string>()
  for (const m of scenario.marketplaces) {
    const governance = signRecord('market.governance', {
      operator: key(m.operator).id,
      name: m.name,
      description: m.description,
      roles: m.roles,
      trustedAccreditors: m.trustedAccreditors.map(t => ({ kind: t.kind, accreditor: key(t.accreditor).id })),
      services: m.services,
      settlementMethods: m.settlementMethods,
      settlementIntervalsMs: m.settlementIntervalsMs,
      toleranceBp: m.toleranceBp,
      priceMechanism: m.priceMechanism,
      minimumBid: m.minimumBid,
      issuedAt: simStart
    }, key(m.operator))
    marketplaces.set(m.name, governance.id)
    const members = scenario.parties.filter(p => p.marketplaces.includes(m.name))
    for (const p of members) give(p.name, governance.record)
    for (const t of m.tariffs) {
      const tariff = signRecord('market.tariff', { issuer: key(m.operator).id, marketplace: governance.id, reference: t.reference, service: t.service, price: t.price, validFrom: simStart - YEAR_MS, validUntil: simStart + YEAR_MS, issuedAt: simStart }, key(m.operator))
      for (const p of members) give(p.name, tariff.record)
    }
  }
  for (const f of scenario.frameworks) {
    const proposed = signRecord('market.framework', {
      marketplace: marketplaces.get(f.marketplace)!, requester: key(f.requester).id, provider: key(f.provider).id, reference: f.reference,
      services: f.services, price: f.price, maxQuantity: f.maxQuantity, validFrom: simStart - YEAR_MS, validUntil: simStart + YEAR_MS, issuedAt: simStart
    }, key(f.requester))
    const agreed = countersign(proposed, key(f.provider))
    give(f.requester, agreed.record)
    give(f.provider, agreed.record)
  }
  let serial = 1
  for (const p of scenario.parties) {
    for (const a of p.accreditations) {
      const acc = signRecord('credential.accreditation', {
        accreditor: key(a.by).id,
        subject: key(p.name).id,
        kind: a.kind,
        scope: a.scope === undefined ? '*' : marketplaces.get(a.scope) ?? a.scope,
        ...(a.kind === 'meter-certification' ? { meter: meters.get(p.name) ?? key(p.name).id } : {}),
        serial: serial++,
        notBefore: simStart - YEAR_MS,
        expiresAt: simStart + (a.expiresAfterMinutes !== undefined ? a.expiresAfterMinutes * 60_000 : YEAR_MS),
        issuedAt: simStart
      }, key(a.by))
      give(p.name, acc.record)
    }
  }
  for (const p of scenario.parties) {
    const dir = join(root, p.name)
    await mkdir(join(dir, 'credentials'), { recursive: true, mode: 0o700 })
    await writeFile(join(dir, 'credentials', 'devnet.json'), JSON.stringify({ records: files.get(p.name) }, null, 2) + '\n')
    const config = await readConfig(dataPaths(dir).config)
    await writeConfig(dataPaths(dir).config, { ...config, marketplaces: p.marketplaces.map(m => marketplaces.get(m)!) })
    if (p.trade !== undefined) await writeTradeConfig(dir, p.trade)
  }
  return { marketplaces, parties: new Map([...keys].map(([n, k]) => [n, k.id])) }
}

/** Reads back a provisioned party's credential file (tests use it to tamper with credentials). */
export async function credentialFile (root: string, party: string): Promise<Envelope[]> {
  return (JSON.parse(await readFile(join(root, party, 'credentials', 'devnet.json'), 'utf8')) as { records: Envelope[] }).records
}
