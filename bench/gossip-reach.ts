// gossip-reach: time for a published request to reach 100% of N nodes, the nodes spread over
// several OS processes (bench/gossip-worker.ts), each a real libp2p + gossipsub node from
// createNet, in a sparse random topology (each node dials ~4 others).
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { requestTopic } from '../src/net/protocol-ids.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNet } from '../src/net/libp2p.js'
import { MARKETPLACE, sleep, tcpRoundTrips, trackChild } from './fixtures.js'
import { header, result, say, type BenchOptions, type BenchResult } from './report.js'
import { round, summarize } from './stats.js'
import type { FromWorker, ToWorker, Variant } from './gossip-worker.js'

const WORKER = fileURLToPath(new URL('./gossip-worker.js', import.meta.url))
const DIALS_PER_NODE = 4
/** Wall ms between publications: every node of the N shares this machine's 2 cores, so space messages out to measure latency, not queueing. */
const gapFor = (n: number): number => Math.max(40, n * 3)

interface Reach { n: number, processes: number, p50: number, p90: number, p99: number, max: number, meanHop: number, messages: number, incomplete: number, setupS: number, bytes: number, meshMean: number, hopsP99: number, hopsMean: number, idleBytesPerNodeSec: number, bytesPerNodePerMessage: number, cpuUsPerNodePerMessage: number }

class Worker {
  private readonly waiting: Array<{ cmd: FromWorker['cmd'], resolve: (m: FromWorker) => void, reject: (e: Error) => void }> = []
  readonly exited: Promise<void>
  constructor (readonly child: ChildProcess) {
    child.on('message', (m: FromWorker) => {
      if (m.cmd === 'error') { this.waiting.splice(0).forEach(w => w.reject(new Error(`gossip worker: ${m.message}`))); return }
      const i = this.waiting.findIndex(w => w.cmd === m.cmd)
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(m)
    })
    this.exited = new Promise(resolve => child.once('exit', () => {
      this.waiting.splice(0).forEach(w => w.reject(new Error('gossip worker exited')))
      resolve()
    }))
  }

  async ask<C extends FromWorker['cmd']> (msg: ToWorker, reply: C, timeoutMs = 60_000): Promise<Extract<FromWorker, { cmd: C }>> {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gossip worker did not answer ${msg.cmd} within ${timeoutMs} ms`)), timeoutMs)
      this.waiting.push({ cmd: reply, resolve: m => { clearTimeout(timer); resolve(m as Extract<FromWorker, { cmd: C }>) }, reject: e => { clearTimeout(timer); reject(e) } })
      this.child.send(msg)
    })
  }
}


/**
 * Random sparse topology: a random spanning tree (connected), then each node dials random others
 * until it has made ~DIALS_PER_NODE dials. Every node's degree stays at most MAX_DEGREE, below
 * gossipsub's Dhi (12): a node with more peers prunes its mesh down to D, and a pruned peer backs
 * off for a minute — a leaf whose only peers pruned it has an empty mesh (seen with a random graph
 * of unbounded degree, and with a star of 18: 6 spokes meshless).
 */
const MAX_DEGREE = 9
function topology (n: number): Array<[number, number]> {
  const edges = new Set<string>()
  const degree = new Array<number>(n).fill(0)
  const out: Array<[number, number]> = []
  const add = (a: number, b: number): boolean => {
    if (a === b || degree[a]! >= MAX_DEGREE || degree[b]! >= MAX_DEGREE) return false
    const k = a < b ? `${a}-${b}` : `${b}-${a}`
    if (edges.has(k)) return false
    edges.add(k)
    degree[a]!++
    degree[b]!++
    out.push([a, b])
    return true
  }
  for (let i = 1; i < n; i++) {
    for (let tries = 0; tries < 100; tries++) if (add(i, Math.floor(Math.random() * i))) break
  }
  for (let i = 0; i < n; i++) {
    let made = out.filter(([a]) => a === i).length
    for (let tries = 0; made < Math.min(DIALS_PER_NODE, n - 1) && tries < 50; tries++) if (add(i, Math.floor(Math.random() * n))) made++
  }
  return out
}

async function reach (n: number, processes: number, messages: number, verify: boolean, variant: Variant = 'project'): Promise<Reach> {
  const t0 = Date.now()
  const topic = requestTopic(MARKETPLACE)
  const sizes = Array.from({ length: processes }, (_, p) => Math.floor(n / processes) + (p < n % processes ? 1 : 0))
  // BENCH_WORKER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the workers.
  const execArgv = process.env.BENCH_WORKER_ARGS?.split(' ').filter(Boolean) ?? []
  const workers = sizes.map(() => {
    const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv })
    trackChild(child)
    return new Worker(child)
  })
  try {
    const ready = await Promise.all(workers.map(async (w, p) => await w.ask({ cmd: 'init', count: sizes[p]!, topic, verify, variant }, 'ready')))
    // Global index → (worker, local index, address)
    const where: Array<{ w: number, local: number, addr: string }> = []
    ready.forEach((r, w) => r.nodes.forEach((node, local) => where.push({ w, local, addr: node.addr.includes('/p2p/') ? node.addr : `${node.addr}/p2p/${node.peerId}` })))
    const peerIndex = new Map(ready.flatMap(r => r.nodes.map(x => x.peerId)).map((id, i) => [id, i]))
    const dials: Array<Array<{ from: number, addr: string }>> = workers.map(() => [])
    for (const [a, b] of topology(n)) dials[where[a]!.w]!.push({ from: where[a]!.local, addr: where[b]!.addr })
    const dialed = await Promise.all(workers.map(async (w, p) => await w.ask({ cmd: 'dial', dials: dials[p]! }, 'dialed', 120_000)))
    const failures = dialed.flatMap(d => d.failures)
    if (failures.length > 0) say(`  ${failures.length} dials failed after retries, e.g. ${failures[0]}`)

    // The connection graph (as it exists) must be connected, or some nodes can never be reached.
    const adj: number[][] = Array.from({ length: n }, () => [])
    for (let round = 0; ; round++) {
      const connected = (await Promise.all(workers.map(async w => await w.ask({ cmd: 'status' }, 'status')))).flatMap(st => st.connected)
      adj.forEach(a => a.splice(0))
      connected.forEach((peers, u) => { for (const p of peers) { const v = peerIndex.get(p); if (v !== undefined) adj[u]!.push(v) } })
      const comp = new Array<number>(n).fill(-1)
      let comps = 0
      for (let i = 0; i < n; i++) {
        if (comp[i]! >= 0) continue
        const stack = [i]
        comp[i] = comps
        while (stack.length > 0) {
          const u = stack.pop()!
          for (const v of adj[u]!) if (comp[v]! < 0) { comp[v] = comps; stack.push(v) }
        }
        comps++
      }
      if (comps === 1) break
      if (round >= 5) throw new Error(`the nodes form ${comps} disconnected groups after ${round} rounds of bridging`)
      say(`  connection graph has ${comps} components: bridging`)
      const bridge: Array<Array<{ from: number, addr: string }>> = workers.map(() => [])
      for (let c = 1; c < comps; c++) {
        // Bridge through the lowest-degree nodes of each component.
        const pick = (k: number): number => comp.map((x, i) => ({ x, i })).filter(e => e.x === k).sort((a, b) => adj[a.i]!.length - adj[b.i]!.length)[0]!.i
        const a = pick(c)
        bridge[where[a]!.w]!.push({ from: where[a]!.local, addr: where[pick(0)]!.addr })
      }
      await Promise.all(workers.map(async (w, p) => await w.ask({ cmd: 'dial', dials: bridge[p]! }, 'dialed', 120_000)))
      await sleep(500)
    }
    /** Hops from `from` to the farthest node in the connection graph (mesh paths can only be longer). */
    const eccentricity = (from: number): number => {
      const dist = new Array<number>(n).fill(-1)
      dist[from] = 0
      const queue = [from]
      for (let q = 0; q < queue.length; q++) for (const v of adj[queue[q]!]!) if (dist[v]! < 0) { dist[v] = dist[queue[q]!]! + 1; queue.push(v) }
      return Math.max(...dist)
    }

    // Ready = every node has mesh peers; then let two more heartbeats fill meshes toward D.
    let mesh: number[] = []
    const deadline = Date.now() + 60_000
    for (;;) {
      mesh = (await Promise.all(workers.map(async w => await w.ask({ cmd: 'status' }, 'status')))).flatMap(s => s.mesh)
      if (mesh.every(m => m > 0)) break
      if (Date.now() > deadline) throw new Error(`mesh did not form: ${mesh.filter(m => m === 0).length} of ${n} nodes without mesh peers (degrees ${mesh.map((m, i) => m === 0 ? adj[i]!.length : -1).filter(d => d >= 0).join(', ')})`)
      await sleep(100)
    }
    await sleep(1_500)
    mesh = (await Promise.all(workers.map(async w => await w.ask({ cmd: 'status' }, 'status')))).flatMap(s => s.mesh)
    const setupS = (Date.now() - t0) / 1000
    await Promise.all(workers.map(async w => await w.ask({ cmd: 'collect' }, 'receipts')))

    // Bytes written and CPU used by all workers: over an idle span (heartbeats, gossip control), then while publishing.
    const io = async (): Promise<{ bytes: number, cpuUs: number }> => {
      const all = await Promise.all(workers.map(async w => await w.ask({ cmd: 'io' }, 'io')))
      return { bytes: all.reduce((sum, x) => sum + x.wchar, 0), cpuUs: all.reduce((sum, x) => sum + x.cpuUs, 0) }
    }
    const w0 = await io()
    const tIdle = performance.now()
    await sleep(3_000)
    const w1 = await io()
    const idleS = (performance.now() - tIdle) / 1000
    const idleBytesPerSec = (w1.bytes - w0.bytes) / idleS
    const idleCpuPerSec = (w1.cpuUs - w0.cpuUs) / idleS
    const tPubStart = performance.now()

    const published = new Map<number, { t: number, from: number }>()
    const hopCounts: number[] = []
    let bytes = 0
    for (let seq = 0; seq < messages; seq++) {
      const from = Math.floor(Math.random() * n)
      const { w, local } = where[from]!
      const p = await workers[w]!.ask({ cmd: 'publish', local, seq }, 'published')
      if (p.error !== undefined) throw new Error(`publish ${seq} failed: ${p.error}`)
      published.set(seq, { t: p.t, from })
      hopCounts.push(eccentricity(from))
      bytes = p.bytes
      await sleep(gapFor(n))
    }
    await sleep(1_000)
    const w2 = await io()
    const pubS = (performance.now() - tPubStart) / 1000
    const pubBytes = (w2.bytes - w1.bytes) - idleBytesPerSec * pubS
    const pubCpuUs = (w2.cpuUs - w1.cpuUs) - idleCpuPerSec * pubS
    const collected = await Promise.all(workers.map(async w => await w.ask({ cmd: 'collect' }, 'receipts')))
    const last = new Map<number, number>()
    const count = new Map<number, number>()
    const receiptTimes: number[] = []
    const perNode = new Array<number>(n).fill(0)
    const offset = ready.map((_, w) => ready.slice(0, w).reduce((a, r) => a + r.nodes.length, 0))
    for (const [w, c] of collected.entries()) {
      for (const [seq, local, t] of c.receipts) {
        const pub = published.get(seq)
        if (pub === undefined) continue
        perNode[offset[w]! + local]!++
        count.set(seq, (count.get(seq) ?? 0) + 1)
        last.set(seq, Math.max(last.get(seq) ?? 0, t - pub.t))
        receiptTimes.push(t - pub.t)
      }
    }
    // Which nodes missed messages (diagnostics for incomplete reach).
    const starved = perNode.map((cnt, i) => ({ i, cnt })).filter(x => x.cnt < messages - [...published.values()].filter(p => p.from === x.i).length)
    if (starved.length > 0) {
      const st = await Promise.all(workers.map(async w => await w.ask({ cmd: 'status' }, 'status')))
      const meshNow = st.flatMap(x => x.mesh)
      const peersNow = st.flatMap(x => x.peers)
      say(`  nodes that missed messages: ${starved.slice(0, 8).map(x => `#${x.i} got ${x.cnt}/${messages} (mesh ${meshNow[x.i]}, peers ${peersNow[x.i]})`).join(', ')}`)
    }
    const full: number[] = []
    let incomplete = 0
    for (const seq of published.keys()) {
      if ((count.get(seq) ?? 0) >= n - 1) full.push(last.get(seq)!)
      else incomplete++
    }
    const s = summarize(full)
    return {
      n, processes, messages, incomplete, setupS, bytes,
      p50: s.p50, p90: s.p90, p99: s.p99, max: s.max,
      meanHop: summarize(receiptTimes).mean,
      meshMean: mesh.reduce((a, b) => a + b, 0) / n,
      idleBytesPerNodeSec: idleBytesPerSec / n,
      bytesPerNodePerMessage: pubBytes / (messages * n),
      cpuUsPerNodePerMessage: pubCpuUs / (messages * n),
      hopsP99: summarize(hopCounts).p99,
      hopsMean: summarize(hopCounts).mean
    }
  } finally {
    await Promise.all(workers.map(async w => {
      if (w.child.exitCode !== null) return
      await w.ask({ cmd: 'stop' }, 'stopped', 15_000).catch(() => {})
      const timer = setTimeout(() => w.child.kill('SIGKILL'), 5_000)
      await w.exited
      clearTimeout(timer)
    }))
  }
}

/** One gossip hop between two createNet nodes in this process: publish → 'message' event at the other. */
async function oneHop (samples: number): Promise<ReturnType<typeof summarize>> {
  const [a, b] = await Promise.all([0, 1].map(async () => await createNet({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })))
  try {
    const topic = requestTopic(MARKETPLACE)
    for (const n of [a!, b!]) n.services.pubsub.subscribe(topic)
    let arrived: (() => void) | undefined
    b!.services.pubsub.addEventListener('message', () => arrived?.())
    await a!.dial(b!.getMultiaddrs()[0]!)
    const deadline = Date.now() + 20_000
    while ((a!.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(topic).length === 0) {
      if (Date.now() > deadline) throw new Error('two-node mesh did not form')
      await sleep(50)
    }
    const data = new Uint8Array(689).fill(1)
    const times: number[] = []
    for (let i = 0; i < samples + 30; i++) {
      data[0] = i & 0xff
      data[1] = i >> 8
      const got = new Promise<void>(resolve => { arrived = resolve })
      const t0 = performance.now()
      await a!.services.pubsub.publish(topic, data)
      await got
      if (i >= 30) times.push(performance.now() - t0)
      await sleep(2)
    }
    return summarize(times)
  } finally {
    await Promise.all([a!, b!].map(async n => await Promise.resolve(n.stop()).catch(() => {})))
  }
}

export async function run ({ quick }: BenchOptions): Promise<BenchResult[]> {
  header('gossip-reach', 'publish → last of N nodes received, nodes over several processes, sparse random topology')
  say('validators here accept without checking; the real request validator costs one record verify (≈ 0.1 ms) per hop')
  const only = process.env.BENCH_GOSSIP_N?.split(',').map(Number)
  // The last case is the previous configuration (gossipsub StrictSign), for comparison with n30-verify's figures.
  const allCases: Array<{ n: number, processes: number, verify: boolean, variant?: Variant }> = quick
    ? [{ n: 10, processes: 2, verify: false }, { n: 10, processes: 2, verify: true }]
    : [{ n: 10, processes: 2, verify: false }, { n: 30, processes: 3, verify: false }, { n: 30, processes: 3, verify: true }, { n: 60, processes: 4, verify: false }, { n: 60, processes: 4, verify: true }, { n: 30, processes: 3, verify: true, variant: 'strictsign-before' }]
  const cases = only === undefined ? allCases : allCases.filter(c => only.includes(c.n))
  const messages = quick ? 20 : 60
  const rtt = summarize(await tcpRoundTrips(1_000, true))
  say(`floor per message = hops to the farthest node (connection graph) × one-way loopback latency (TCP RTT p50 between two processes ${(rtt.p50 * 1000).toFixed(0)} µs / 2)`)
  const out: BenchResult[] = []
  const hop = await oneHop(quick ? 100 : 300)
  // Gossip messages are not signed (StrictNoSign) and this hop has no validator: the floor is the wire.
  const hopFloor = rtt.p50 / 2
  say(`one hop (2 nodes, one process, 689-byte message, no validator): p50 ${hop.p50.toFixed(2)} ms, p99 ${hop.p99.toFixed(2)} ms; floor ${hopFloor.toFixed(3)} ms = half a TCP RTT`)
  out.push(result('gossip-reach/one-hop', round(hop.p50, 3), 'ms p50 per hop', null, round(hopFloor, 3), { p99: round(hop.p99, 3), samples: hop.n }))
  for (const c of cases) {
    const r = await reach(c.n, c.processes, messages, c.verify, c.variant)
    if (c.variant === 'strictsign-before') say('the previous configuration, for comparison (no longer the project\'s): createNet with gossipsub StrictSign, each copy\'s publisher signature verified on receipt, message id = publisher + seqno')
    say(`N=${String(r.n).padStart(2)} over ${r.processes} processes${c.verify ? ', validator = decodeRecord' : ''}${c.variant === 'strictsign-before' ? ', StrictSign (before)' : ''}: 100% reach p50 ${r.p50.toFixed(1)} ms, p90 ${r.p90.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms; mean per-node receipt ${r.meanHop.toFixed(1)} ms; mesh ≈ ${r.meshMean.toFixed(1)} peers; ${r.incomplete}/${r.messages} messages missed a node; setup ${r.setupS.toFixed(1)} s`)
    const floor = r.hopsP99 * rtt.p50 / 2
    say(`   wire: each node sends ≈ ${r.bytesPerNodePerMessage.toFixed(0)} bytes per ${r.bytes}-byte request published (all copies, IHAVE/IWANT/IDONTWANT, Noise + yamux framing); idle ${r.idleBytesPerNodeSec.toFixed(0)} bytes/s per node (heartbeats); CPU ≈ ${r.cpuUsPerNodePerMessage.toFixed(0)} µs per node per message`)
    say(`   floor: ${r.hopsP99} hops (p99; mean ${r.hopsMean.toFixed(1)}) × ${(rtt.p50 / 2 * 1000).toFixed(0)} µs = ${floor.toFixed(2)} ms`)
    out.push(result(`gossip-reach/n${c.n}${c.verify ? '-verify' : ''}${c.variant === 'strictsign-before' ? '-strictsign-before' : ''}`, round(r.p99, 2), 'ms p99 to 100%', c.n === 60 ? 250 : null, round(floor, 3), {
      hopsP99: r.hopsP99, hopsMean: round(r.hopsMean, 2), bytesSentPerNodePerMessage: Math.round(r.bytesPerNodePerMessage), cpuUsPerNodePerMessage: Math.round(r.cpuUsPerNodePerMessage), gapMs: gapFor(c.n), idleBytesPerNodePerSec: Math.round(r.idleBytesPerNodeSec),
      nodes: r.n, processes: r.processes, messages: r.messages, p50: round(r.p50, 2), p90: round(r.p90, 2), max: round(r.max, 2),
      meanReceiptMs: round(r.meanHop, 2), incomplete: r.incomplete, meshPeersMean: round(r.meshMean, 1), payloadBytes: r.bytes,
      validator: c.verify ? 'decodeRecord (one record verify per hop)' : 'accept (real one costs a record verify per hop)',
      gossipSigning: c.variant === 'strictsign-before' ? 'StrictSign (previous config, comparison only)' : 'StrictNoSign (project config)'
    }))
  }
  return out
}
