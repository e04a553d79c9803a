// The operator's single-node flow, through the commands a user types: init two nodes, write and
// sign the marketplace's governance, tariff and accreditations, start both, connect, request,
// let the building commit and settle, export the audit bundle and verify it.
import { describe, it, expect, afterAll } from 'vitest'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { promisify } from 'node:util'
import { mkdtemp, rm, writeFile, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath } from '../src/node/package-root.js'

const exec = promisify(execFile)
const root = await mkdtemp(join(tmpdir(), 'pairgrid-cli-'))
const children: ChildProcess[] = []
afterAll(async () => {
  for (const c of children) c.kill('SIGTERM')
  await Promise.all(children.map(async c => await new Promise(resolve => c.exitCode !== null ? resolve(null) : c.once('exit', resolve))))
  await rm(root, { recursive: true, force: true })
})

const pairgrid = async (...args: string[]): Promise<string> => (await exec(process.execPath, [cliPath(), ...args], { timeout: 30_000 })).stdout
const json = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => JSON.parse(await pairgrid(...args)) as T
const path = (...p: string[]): string => join(root, ...p)
const write = async (name: string, body: unknown): Promise<string> => { await writeFile(path(name), JSON.stringify(body)); return path(name) }

describe('pairgrid CLI: a utility and a building by hand', () => {
  it('init, sign, add credentials, start, request, settle, export, verify', async () => {
    const speed = 300
    const origin = { wall: Date.now(), sim: Date.UTC(2026, 10, 21, 14, 0) }
    const simNow = (): number => origin.sim + (Date.now() - origin.wall) * speed
    const utility = await json<{ party: string }>('init', '--data', path('utility'), '--name', 'utility', '--kind', 'distribution-utility')
    const building = await json<{ party: string, meter: string }>('init', '--data', path('building'), '--name', 'building', '--kind', 'building', '--building', 'default')
    expect((await stat(path('utility', 'keys', 'party.key'))).mode & 0o777).toBe(0o600)
    const certifier = await json<{ party: string }>('keygen', '--out', path('certifier.key'), '--purpose', 'meter certifier')

    const governance = JSON.parse(await pairgrid('sign', '--key', path('utility', 'keys', 'party.key'), '--type', 'market.governance', '--body', await write('governance.json', {
      operator: utility.party, name: 'utility-dr', description: 'DR program', services: ['demand-response'], settlementMethods: ['pairgrid/dr-mbe/1'],
      settlementIntervalsMs: [900_000], toleranceBp: 1000, priceMechanism: 'tariff', minimumBid: { value: 10_000, unit: 'W' },
      roles: [{ kind: 'building', may: ['provide'], requires: ['interconnection', 'meter-certification'] }],
      trustedAccreditors: [{ kind: 'interconnection', accreditor: utility.party }, { kind: 'meter-certification', accreditor: certifier.party }],
      issuedAt: origin.sim
    }))) as { body: unknown }
    await writeFile(path('governance.signed.json'), JSON.stringify(governance))
    const { recordId } = await import('../src/records/envelope.js')
    const market = recordId(governance as never)
    const year = 365 * 86_400_000
    await pairgrid('sign', '--key', path('utility', 'keys', 'party.key'), '--type', 'market.tariff', '--out', path('tariff.signed.json'), '--body', await write('tariff.json', {
      issuer: utility.party, marketplace: market, reference: 'tariff/dr', service: 'demand-response',
      price: { mechanism: 'tariff', reference: 'tariff/dr', currency: 'USD', rate: 150_000, rateUnit: 'MWh' }, validFrom: origin.sim - year, validUntil: origin.sim + year, issuedAt: origin.sim
    }))
    const accreditation = (kind: string, meter?: string): Record<string, unknown> => ({ subject: building.party, kind, scope: '*', serial: 1, notBefore: origin.sim - year, expiresAt: origin.sim + year, issuedAt: origin.sim, ...(meter !== undefined ? { meter } : {}) })
    await pairgrid('sign', '--key', path('utility', 'keys', 'party.key'), '--type', 'credential.accreditation', '--out', path('interconnection.signed.json'), '--body', await write('interconnection.json', { accreditor: utility.party, ...accreditation('interconnection') }))
    await pairgrid('sign', '--key', path('certifier.key'), '--type', 'credential.accreditation', '--out', path('meter.signed.json'), '--body', await write('meter.json', { accreditor: certifier.party, ...accreditation('meter-certification', building.meter) }))
    await pairgrid('credentials', 'add', '--data', path('utility'), path('governance.signed.json'), path('tariff.signed.json'))
    await pairgrid('credentials', 'add', '--data', path('building'), path('governance.signed.json'), path('tariff.signed.json'), path('interconnection.signed.json'), path('meter.signed.json'))
    for (const n of ['utility', 'building']) {
      const config = JSON.parse(await readFile(path(n, 'config.json'), 'utf8')) as { marketplaces: string[] }
      await writeFile(path(n, 'config.json'), JSON.stringify({ ...config, marketplaces: [market] }))
    }

    const start = async (name: string, extra: string[]): Promise<void> => {
      const out = openSync(path(`${name}.log`), 'a')
      const child = spawn(process.execPath, [cliPath(), 'start', '--data', path(name), '--speed', String(speed), '--clock-origin', `${origin.wall}:${origin.sim}`, '--log-format', 'json', ...extra], { stdio: ['ignore', out, out] })
      closeSync(out)
      children.push(child)
      for (let i = 0; i < 100; i++) {
        try { await json('status', '--data', path(name)); return } catch { await new Promise(resolve => setTimeout(resolve, 100)) }
      }
      throw new Error(`${name} did not start`)
    }
    await start('utility', ['--listen', '/ip4/127.0.0.1/tcp/0'])
    const status = await json<{ addrs: string[], peerId: string }>('status', '--data', path('utility'))
    await start('building', ['--bootstrap', status.addrs[0]!])
    for (let i = 0; ; i++) {
      const s = await json<{ marketplaces: Record<string, { meshPeers: number }> }>('status', '--data', path('utility'))
      if ((s.marketplaces[market]?.meshPeers ?? 0) > 0) break
      if (i > 200) throw new Error('no mesh')
      await new Promise(resolve => setTimeout(resolve, 100))
    }

    const windowStart = new Date(Math.ceil((simNow() + 17 * 60_000) / 60_000) * 60_000).toISOString()
    const published = await json<{ id: string }>('request', '--data', path('utility'), '--marketplace', market, '--start', windowStart, '--minutes', '15', '--kw', '40', '--tariff', 'tariff/dr')
    let tx: { id: string, status: string, request: string } | undefined
    for (let i = 0; i < 600 && tx?.status !== 'settled'; i++) {
      tx = (await json<Array<{ id: string, status: string, request: string }>>('transactions', '--data', path('utility'))).find(t => t.request === published.id)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    expect(tx?.status).toBe('settled')

    await pairgrid('export', '--data', path('building'), '--tx', tx!.id, '--out', path('bundle.json'))
    const verified = await json<{ ok: boolean, status: string, meterCertified: boolean }>('verify', path('bundle.json'))
    expect(verified).toMatchObject({ ok: true, status: 'settled', meterCertified: true })
    const settlements = await json<Array<{ record: { type: string, sigs: unknown[] } }>>('log', '--data', path('building'), '--type', 'grid.settlement')
    expect(settlements.at(-1)!.record.sigs).toHaveLength(2)
    // No key or token ever appears in a log line.
    for (const n of ['utility', 'building']) {
      const log = await readFile(path(`${n}.log`), 'utf8')
      expect(log).toContain(n === 'utility' ? 'settlement countersigned' : 'settlement signed')
      const control = JSON.parse(await readFile(path(n, 'control.json'), 'utf8')) as { token: string }
      expect(log).not.toContain(control.token)
      for (const key of n === 'building' ? ['party.key', 'meter.key'] : ['party.key']) {
        const seed = (JSON.parse(await readFile(path(n, 'keys', key), 'utf8')) as { seed: string }).seed
        expect(log).not.toContain(seed)
        expect(log).not.toContain(Buffer.from(seed, 'base64url').toString('hex'))
      }
    }
  }, 180_000)
})
