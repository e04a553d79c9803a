// Shared fixtures: realistic record bodies signed through the project's own code, temp dirs.
import * as cryptoSync from 'node:crypto'
import { randomBytes } from 'node:crypto'
import * as net from 'node:net'
import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keyPairFromSeed, type KeyPair } from '../src/identity/ed25519.js'
import { signRecord, type Verified } from '../src/records/envelope.js'
import type { CommitmentBody, RequestBody } from '../src/records/grid-schemas.js'

export const MARKETPLACE = 'utility-dr'
export const SIM_ORIGIN = Date.UTC(2026, 10, 21, 14, 0)

export function newKeys (): KeyPair {
  return keyPairFromSeed(new Uint8Array(randomBytes(32)))
}

/** A demand-response request as a utility publishes it (same fields as Requester.publish fills in). */
export function requestBody (requester: string, now: number, i = 0, kw = 50): RequestBody {
  const start = Math.ceil((now + 20 * 60_000) / 60_000) * 60_000 + i * 5 * 60_000
  return {
    marketplace: MARKETPLACE,
    requester,
    service: 'demand-response',
    window: { start, end: start + 15 * 60_000 },
    quantity: { value: kw * 1000, unit: 'W' },
    price: { mechanism: 'tariff', reference: 'tariff/dr-2026', currency: 'USD', rate: 150_000, rateUnit: 'MWh' },
    settlementMethod: 'pairgrid/dr-mbe/1',
    settlementIntervalMs: 900_000,
    toleranceBp: 1000,
    nonce: randomBytes(16).toString('hex'),
    issuedAt: now,
    expiresAt: now + 10 * 60_000
  }
}

export function commitmentBody (request: Verified<'grid.request'>, provider: string, meter: string, now: number): CommitmentBody {
  const r = request.record.body
  return {
    request: request.id,
    marketplace: r.marketplace,
    requester: r.requester,
    provider,
    service: r.service,
    window: r.window,
    quantity: r.quantity,
    price: r.price,
    settlementMethod: r.settlementMethod,
    meter,
    elements: ['battery'],
    issuedAt: now
  }
}

/** The three records of a dispatch (request, commitment, acceptance), freshly signed. */
export function dispatchChain (utility: KeyPair, building: KeyPair, meter: KeyPair, now: number, i = 0): Array<Verified> {
  const request = signRecord('grid.request', requestBody(utility.id, now, i), utility)
  const commitment = signRecord('grid.commitment', commitmentBody(request, building.id, meter.id, now), building)
  const acceptance = signRecord('grid.acceptance', { commitment: commitment.id, request: request.id, requester: utility.id, provider: building.id, issuedAt: now }, utility)
  return [request, commitment, acceptance]
}

// Whatever a benchmark leaves behind when it is interrupted (Ctrl-C, a closed pipe, a crash) is
// removed on exit: temp dirs deleted, child processes killed.
const liveDirs = new Set<string>()
const liveChildren = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of liveChildren) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true })
})
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => process.exit(130))

/** Removes `dir` on exit unless released first. */
export function trackDir (dir: string): () => void {
  liveDirs.add(dir)
  return () => { liveDirs.delete(dir) }
}

/** Kills `child` on exit if it is still running. */
export function trackChild (child: ChildProcess): void {
  liveChildren.add(child)
  child.once('exit', () => liveChildren.delete(child))
}

export async function tempDir (tag: string): Promise<{ dir: string, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `pairgrid-bench-${tag}-`))
  const release = trackDir(dir)
  return { dir, cleanup: async () => { await rm(dir, { recursive: true, force: true }); release() } }
}

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** Polls `probe` every `everyMs` until it returns a value or `timeoutMs` passes. */
export async function waitFor<T> (what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** p50 µs of raw node:crypto Ed25519 sign and verify on a message of `bytes` bytes (the signature floor). */
export function rawEd25519Us (bytes = 600, samples = 2_000): { signUs: number, verifyUs: number } {
  const { generateKeyPairSync, sign, verify } = cryptoSync
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const msg = randomBytes(bytes)
  const sig = sign(null, msg, privateKey)
  for (let i = 0; i < 200; i++) verify(null, msg, publicKey, sig)
  const s: number[] = []
  const v: number[] = []
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint()
    sign(null, msg, privateKey)
    const t1 = process.hrtime.bigint()
    verify(null, msg, publicKey, sig)
    const t2 = process.hrtime.bigint()
    s.push(Number(t1 - t0) / 1000)
    v.push(Number(t2 - t1) / 1000)
  }
  const med = (a: number[]): number => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!
  return { signUs: med(s), verifyUs: med(v) }
}

/** Round-trip times (ms) of `count` small pings over a loopback TCP echo server on 127.0.0.1,
 * in this process or (crossProcess) in a child process, as separate node processes talk. */
export async function tcpRoundTrips (count = 1_000, crossProcess = false, payloadBytes = 64): Promise<number[]> {
  let port: number
  let close: () => Promise<void>
  if (crossProcess) {
    const code = "const s=require('net').createServer(c=>{c.setNoDelay(true);c.pipe(c)});s.listen(0,'127.0.0.1',()=>console.log(s.address().port));process.stdin.on('end',()=>process.exit(0));process.stdin.resume()"
    const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] })
    trackChild(child)
    port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      child.once('exit', code => reject(new Error(`echo server exited (${String(code)})`)))
    })
    close = async () => {
      const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
      child.stdin.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
      await exited
      clearTimeout(timer)
    }
  } else {
    const server = net.createServer(socket => { socket.setNoDelay(true); socket.pipe(socket) })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as net.AddressInfo).port
    close = async () => await new Promise<void>(resolve => server.close(() => resolve()))
  }
  const socket = net.connect(port, '127.0.0.1')
  socket.setNoDelay(true)
  await new Promise<void>(resolve => socket.once('connect', resolve))
  const payload = Buffer.alloc(payloadBytes, 7)
  const rtts: number[] = []
  try {
    for (let i = 0; i < count + 50; i++) {
      const t0 = performance.now()
      await new Promise<void>(resolve => {
        let got = 0
        const onData = (d: Buffer): void => { got += d.length; if (got >= payloadBytes) { socket.off('data', onData); resolve() } }
        socket.on('data', onData)
        socket.write(payload)
      })
      if (i >= 50) rtts.push(performance.now() - t0)
    }
  } finally {
    socket.destroy()
    await close()
  }
  return rtts
}
