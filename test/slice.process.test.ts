// The foundation slice through the command a newcomer runs: two OS processes over TCP.
import { describe, it, expect, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verifyBundle, type AuditBundle } from '../src/log/bundle.js'
import type { LogEntry } from '../src/log/record-log.js'
import { logEntries } from './helpers/log-entries.js'
import { cliPath, packageRoot } from '../src/node/package-root.js'
import { canonicalize } from '../src/records/canonical.js'

const run = promisify(execFile)
const root = await mkdtemp(join(tmpdir(), 'pairgrid-slice-'))
afterAll(async () => { await rm(root, { recursive: true, force: true }) })


describe('pairgrid devnet: the two-party demand-response slice', () => {
  it('settles one transaction between two processes and both logs hold the same chain', async () => {
    const out = join(root, 'out')
    const data = join(root, 'data')
    const { stdout } = await run(process.execPath, [cliPath(), 'devnet', '--scenario', join(packageRoot(), 'devnet', 'slice.json'), '--out', out, '--data', data, '--speed', '300'], { timeout: 120_000 })
    expect(stdout).toMatch(/every expected transaction ended as expected/)

    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as { nodes: Array<{ name: string, role: string, peerId: string, pid: number }>, transactions: Array<{ id: string, status: string, bundle: string, service: string, priceMechanism: string, counterpartyRole: string }> }
    expect(summary.nodes.map(n => n.role).sort()).toEqual(['building', 'distribution-utility'])
    expect(new Set(summary.nodes.map(n => n.pid)).size).toBe(2)
    expect(summary.nodes.every(n => n.pid !== process.pid)).toBe(true)
    expect(summary.transactions).toHaveLength(1)
    const tx = summary.transactions[0]!
    expect(tx).toMatchObject({ status: 'settled', service: 'demand-response', priceMechanism: 'tariff', counterpartyRole: 'distribution-utility' })

    const bundle = JSON.parse(await readFile(join(out, tx.bundle), 'utf8')) as AuditBundle
    const verdict = verifyBundle(bundle)
    expect(verdict.ok).toBe(true)
    if (!verdict.ok) return
    expect(verdict.summary.status).toBe('settled')
    // 50 kW for 15 minutes is 12.5 kWh; the battery-backed controller delivers it within tolerance.
    expect(verdict.summary.paidEnergy).toBeGreaterThan(12_500 * 0.9)
    expect(verdict.summary.paidEnergy).toBeLessThanOrEqual(12_500)
    expect(bundle.records.map(r => r.type)).toEqual(['grid.request', 'grid.commitment', 'grid.acceptance', 'grid.settlement'])
    expect(bundle.records[3]!.sigs).toHaveLength(2)

    // Both logs hold the same chain: same record ids, and the final versions are identical.
    const latest = (es: LogEntry[]): Map<string, string> => new Map(es.map(e => [e.id, canonicalize(e.record)]))
    const utility = latest(await logEntries(join(data, 'utility')))
    const building = latest(await logEntries(join(data, 'building-a')))
    expect([...utility.keys()].sort()).toEqual([...building.keys()].sort())
    for (const [id, rec] of utility) expect(building.get(id)).toBe(rec)

    const { stdout: verified } = await run(process.execPath, [cliPath(), 'verify', join(out, tx.bundle)])
    expect(JSON.parse(verified)).toMatchObject({ ok: true, status: 'settled' })
    const { stdout: logCheck } = await run(process.execPath, [cliPath(), 'verify', '--data', join(data, 'building-a')])
    expect(JSON.parse(logCheck)).toMatchObject({ ok: true, entries: 5 })
  }, 150_000)
})
