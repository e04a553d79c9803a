// Ctrl-C during a devnet run: every node process stops, none is left behind, and the data dirs
// the run kept open cleanly afterwards.
import { describe, it, expect, afterAll } from 'vitest'
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath, packageRoot } from '../src/node/package-root.js'

const exec = promisify(execFile)
const root = await mkdtemp(join(tmpdir(), 'pairgrid-sigint-'))
afterAll(async () => { await rm(root, { recursive: true, force: true }) })

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

describe('SIGINT during a devnet run', () => {
  it('stops every node process and leaves the data dirs consistent', async () => {
    const devnet = spawn(process.execPath, [cliPath(), 'devnet', '--scenario', join(packageRoot(), 'devnet', 'slice.json'), '--data', join(root, 'data'), '--speed', '60'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let output = ''
    const pids: number[] = []
    await new Promise<void>((resolve, reject) => {
      devnet.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        for (const m of output.matchAll(/started \S+ +\S+ +pid (\d+)/g)) if (!pids.includes(Number(m[1]))) pids.push(Number(m[1]))
        // Interrupt mid-transaction: after the building has committed.
        if (/accepted/.test(output)) resolve()
      })
      devnet.once('exit', () => reject(new Error(`devnet exited early:\n${output}`)))
    })
    expect(pids).toHaveLength(2)
    expect(pids.every(alive)).toBe(true)
    const exited = new Promise<number | null>(resolve => devnet.once('exit', code => resolve(code)))
    devnet.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(output).toMatch(/stopped 2 node process\(es\)/)
    expect(pids.filter(alive)).toEqual([])
    for (const n of ['utility', 'building-a']) {
      const { stdout } = await exec(process.execPath, [cliPath(), 'verify', '--data', join(root, 'data', n)])
      expect(JSON.parse(stdout)).toMatchObject({ ok: true })
    }
  }, 120_000)
})
