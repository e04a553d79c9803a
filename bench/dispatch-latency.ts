// dispatch-latency: request published → signed commitment accepted at the requester, over
// loopback TCP between real PairgridNodes (in this process): 1 utility + 1 building ("2 nodes")
// and 1 utility + 9 buildings ("10 nodes"). Times are taken at the exact moment records enter
// the transaction books (book.add is wrapped on the node instances, nothing is polled), so the
// resolution is that of performance.now().
import type { PairgridNode } from '../src/node/node.js'
import type { Verified } from '../src/records/envelope.js'
import { Level } from 'level'
import { pino } from 'pino'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNet } from '../src/net/libp2p.js'
import { call, serve } from '../src/net/rpc.js'
import { BENCH_SIM_START, drParams, provisionBench, startInProcess, windowAnchor, type BenchMarket } from './cluster.js'
import { rawEd25519Us, sleep, tcpRoundTrips, tempDir } from './fixtures.js'
import { header, result, say, type BenchOptions, type BenchResult } from './report.js'
import { round, summarize, timeEach } from './stats.js'
import { evaluate } from '../src/building/evaluate.js'
import { makeOrder } from '../src/building/order.js'
import { defaultBuildingSpec, WHOLE_BUILDING } from '../src/building/spec.js'

interface Trace {
  gossip?: number // first building's channel delivered the verified request
  committed: number[] // buildings booked their signed commitment
  arrived: number[] // the requester's commit handler received a commitment
  persisted: number[] // a building's log had the commitment on disk (group commit + head witness)
  accepted: number[] // requester booked an acceptance
  rejected: number[] // requester booked a rejection
  ackAtBuilding: number[] // a building booked the acceptance it received
  dropped: number[] // a building still waiting for its wave dropped the request on the fill notice
  reasons: string[]
}

/** Wraps book.add (and the provider's request and fill-notice handlers) on running nodes to timestamp each step of each request. */
function instrument (requester: PairgridNode, buildings: PairgridNode[]): Map<string, Trace> {
  const traces = new Map<string, Trace>()
  const trace = (request: string): Trace => {
    let t = traces.get(request)
    if (t === undefined) { t = { committed: [], arrived: [], persisted: [], accepted: [], rejected: [], ackAtBuilding: [], dropped: [], reasons: [] }; traces.set(request, t) }
    return t
  }
  const rbook = requester.book
  const radd = rbook.add.bind(rbook)
  rbook.add = (v: Verified) => {
    radd(v)
    const now = performance.now()
    const body = v.record.body as { request?: string, reason?: string }
    if (v.record.type === 'grid.acceptance') trace(body.request!).accepted.push(now)
    else if (v.record.type === 'grid.rejection') { trace(body.request!).rejected.push(now); trace(body.request!).reasons.push(body.reason!) }
  }
  const req = requester.requester
  const onCommitment = req.onCommitment.bind(req)
  req.onCommitment = async (bytes: Uint8Array, party: string) => {
    const now = performance.now()
    try {
      const request = (JSON.parse(new TextDecoder().decode(bytes)) as { body?: { request?: string } }).body?.request
      if (request !== undefined) trace(request).arrived.push(now)
    } catch { /* not ours to judge */ }
    return await onCommitment(bytes, party)
  }
  for (const b of buildings) {
    const provider = b.provider!
    const onRequest = provider.onRequest.bind(provider)
    provider.onRequest = (r: Verified<'grid.request'>) => {
      const t = trace(r.id)
      t.gossip ??= performance.now()
      onRequest(r)
    }
    const onFilled = provider.onFilled.bind(provider)
    provider.onFilled = (n: Verified<'grid.filled'>) => {
      const before = provider.refusals.filled ?? 0
      onFilled(n)
      if ((provider.refusals.filled ?? 0) > before) trace(n.record.body.request).dropped.push(performance.now())
    }
    const log = b.log
    const append = log.append.bind(log)
    log.append = (v: Verified) => {
      const done = append(v)
      if (v.record.type === 'grid.commitment') {
        const request = (v.record.body as { request: string }).request
        void done.then(() => { trace(request).persisted.push(performance.now()) }, () => {})
      }
      return done
    }
    const book = b.book
    const add = book.add.bind(book)
    book.add = (v: Verified) => {
      const known = v.record.type === 'grid.commitment' && book.txs.has(v.id)
      add(v)
      const now = performance.now()
      const body = v.record.body as { request?: string }
      if (v.record.type === 'grid.commitment' && !known) trace(body.request!).committed.push(now)
      else if (v.record.type === 'grid.acceptance') trace(body.request!).ackAtBuilding.push(now)
    }
  }
  return traces
}

interface CaseResult {
  nodes: number
  first: ReturnType<typeof summarize>
  all: ReturnType<typeof summarize>
  ack: ReturnType<typeof summarize>
  publish: ReturnType<typeof summarize>
  gossip: ReturnType<typeof summarize>
  commit: ReturnType<typeof summarize>
  durable: ReturnType<typeof summarize>
  sent: ReturnType<typeof summarize>
  answer: ReturnType<typeof summarize>
  requests: number
  /** CPU (user + system) of this process — every node of the case — per measured request. */
  cpuMsPerRequest: number
  incomplete: number
  acceptedPerRequest: number
  /** buildings that dropped the request on the fill notice instead of committing */
  droppedPerRequest: number
  rejectionReasons: Record<string, number>
}

async function runCase (m: BenchMarket, requests: number, warmup: number): Promise<CaseResult> {
  const c = await startInProcess(m)
  const k = c.buildings.length
  try {
    const traces = instrument(c.requester, c.buildings)
    const first: number[] = []
    const all: number[] = []
    const ack: number[] = []
    const publish: number[] = []
    const gossip: number[] = []
    const commit: number[] = []
    const answer: number[] = []
    const sent: number[] = []
    const durable: number[] = []
    let incomplete = 0
    let accepted = 0
    let dropped = 0
    const reasons: Record<string, number> = {}
    const anchor = windowAnchor(c.clock)
    let cpu0 = process.cpuUsage()
    for (let i = 0; i < warmup + requests; i++) {
      if (i === warmup) cpu0 = process.cpuUsage()
      const t0 = performance.now()
      const request = await c.requester.requester.publish(drParams(m, anchor, i))
      const tPub = performance.now()
      const deadline = Date.now() + 5_000
      let t: Trace | undefined
      // Every building either commits (and is answered) or drops the request on the fill notice:
      // wait until all k have done one or the other and the acceptance is acknowledged.
      for (;;) {
        t = traces.get(request.id)
        if (t !== undefined && t.accepted.length + t.rejected.length + t.dropped.length >= k && t.ackAtBuilding.length >= t.accepted.length) break
        if (Date.now() > deadline) break
        await sleep(1)
      }
      if (i < warmup) continue
      if (t === undefined || t.accepted.length === 0) {
        incomplete++
        if (incomplete <= 3) say(`   request ${i}: no acceptance within 5 s (building refusals so far: ${JSON.stringify(c.buildings.map(b => b.provider?.refusals))})`)
        continue
      }
      const answers = [...t.accepted, ...t.rejected].sort((a, b) => a - b)
      if (answers.length + t.dropped.length < k) incomplete++
      accepted += t.accepted.length
      dropped += t.dropped.length
      t.reasons.forEach(r => { reasons[r] = (reasons[r] ?? 0) + 1 })
      first.push(Math.min(...t.accepted) - t0)
      all.push(answers.at(-1)! - t0)
      if (t.ackAtBuilding.length > 0) ack.push(Math.min(...t.ackAtBuilding) - t0)
      publish.push(tPub - t0)
      if (t.gossip !== undefined) gossip.push(t.gossip - t0)
      if (t.gossip !== undefined && t.committed.length > 0) commit.push(Math.min(...t.committed) - t.gossip)
      if (t.committed.length > 0 && t.arrived.length > 0) {
        sent.push(Math.min(...t.arrived) - Math.min(...t.committed))
        if (t.persisted.length > 0) durable.push(Math.min(...t.persisted) - Math.min(...t.committed))
        answer.push(Math.min(...t.accepted) - Math.min(...t.arrived))
      }
    }
    const cpu = process.cpuUsage(cpu0)
    return {
      nodes: k + 1, requests, incomplete, cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / requests, acceptedPerRequest: accepted / Math.max(1, requests - incomplete), droppedPerRequest: dropped / Math.max(1, requests - incomplete), rejectionReasons: reasons,
      first: summarize(first), all: summarize(all), ack: summarize(ack), publish: summarize(publish), gossip: summarize(gossip), commit: summarize(commit), durable: summarize(durable), sent: summarize(sent), answer: summarize(answer)
    }
  } finally {
    await c.stop()
  }
}

/** One request/response over src/net/rpc.ts (serve/call) on an open libp2p connection: the stream step of the path, alone. */
async function rpcRoundTrip (samples: number): Promise<ReturnType<typeof summarize>> {
  const [a, b] = await Promise.all([0, 1].map(async () => await createNet({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })))
  try {
    const limits = { maxRequestBytes: 16 * 1024, maxResponseBytes: 16 * 1024, timeoutMs: 10_000 }
    await serve(b!, '/pairgrid-bench/echo/1', limits, async bytes => ({ ok: bytes.length }), pino({ level: 'silent' }), { served: 0, refused: {} })
    await a!.dial(b!.getMultiaddrs()[0]!)
    const body = { pad: 'x'.repeat(900) }
    const times: number[] = []
    for (let i = 0; i < samples + 50; i++) {
      const t0 = performance.now()
      await call(a!, b!.peerId, '/pairgrid-bench/echo/1', body, limits)
      if (i >= 50) times.push(performance.now() - t0)
    }
    return summarize(times)
  } finally {
    await Promise.all([a!, b!].map(async n => await Promise.resolve(n.stop()).catch(() => {})))
  }
}

/**
 * The building's decision alone (src/building/evaluate.ts: the planner run over the request plus
 * every committed order) with `committed` 1-kW demand-response orders already held, in the same
 * six window slots the dispatch run uses: the provider's CPU per request grows with what it holds.
 */
function evaluateCost (committedCount: number, samples: number): number {
  const spec = defaultBuildingSpec()
  const now = BENCH_SIM_START
  const state = { racks: spec.racks.map(r => ({ id: r.id, socWh: Math.floor(r.capacityWh * r.initialSocPm / 1000) })) }
  const slot = (i: number): { start: number, end: number } => {
    const start = now + 20 * 60_000 + (i % 6) * 40 * 60_000
    return { start, end: start + 15 * 60_000 }
  }
  const committed = Array.from({ length: committedCount }, (_, i) => makeOrder(`o${i}`, 'demand-response', slot(i), 200, [WHOLE_BUILDING]))
  const input = { spec, state, now, loadForecastW: () => 60_000, committed, service: 'demand-response', window: slot(committedCount), quantity: { value: 1000, unit: 'W' } }
  const first = evaluate(input)
  if (!first.ok) throw new Error(`evaluate refused the bench request with ${committedCount} committed: ${first.reason}: ${first.detail}`)
  return summarize(timeEach(samples, () => evaluate(input))).p50
}

async function syncedPutMs (count: number): Promise<number> {
  const { dir, cleanup } = await tempDir('fsync')
  const level = new Level<string, unknown>(dir, { valueEncoding: 'json' })
  await level.open()
  try {
    const t: number[] = []
    for (let i = 0; i < count; i++) {
      const t0 = performance.now()
      await level.put(`k${i}`, { i, pad: 'x'.repeat(800) }, { sync: true } as object)
      t.push(performance.now() - t0)
    }
    return summarize(t).p50
  } finally {
    await level.close()
    await cleanup()
  }
}

export async function run ({ quick }: BenchOptions): Promise<BenchResult[]> {
  header('dispatch-latency', 'request published → signed commitment accepted at the requester (real nodes, loopback TCP)')
  const requests = Number(process.env.BENCH_DISPATCH_REQUESTS ?? (quick ? 30 : 200))
  const warmup = quick ? 3 : 10

  const rtt = summarize(await tcpRoundTrips(1_000))
  const rttX = summarize(await tcpRoundTrips(1_000, true))
  const sig = rawEd25519Us()
  const floor = rtt.p50 + 3 * (sig.signUs + sig.verifyUs) / 1000
  const fsyncMs = await syncedPutMs(200)
  say(`floor: loopback TCP round trip p50 ${(rtt.p50 * 1000).toFixed(0)} µs in one process (${(rttX.p50 * 1000).toFixed(0)} µs between two) + 3 × (sign ${sig.signUs.toFixed(0)} µs + verify ${sig.verifyUs.toFixed(0)} µs) = ${floor.toFixed(3)} ms; the path also makes 3 durable writes (synced put p50 ${fsyncMs.toFixed(3)} ms each)`)
  const rpc = await rpcRoundTrip(quick ? 100 : 300)
  say(`stream step alone: src/net/rpc.ts call → serve → answer on an open connection p50 ${rpc.p50.toFixed(2)} ms, p90 ${rpc.p90.toFixed(2)} ms, p99 ${rpc.p99.toFixed(2)} ms`)
  say('timestamps: book.add wrapped on the node instances (exact, no polling); the driver waits with 1-ms sleeps between requests')

  const held = [0, 50, 200, 500]
  const evalUs = held.map(h => evaluateCost(h, quick ? 10 : 30))
  say(`building decision (evaluate: planner over the request + committed orders): ${held.map((h, i) => `${h} held ${(evalUs[i]! / 1000).toFixed(2)} ms`).join(', ')}`)
  const out: BenchResult[] = []
  out.push(result('dispatch-latency/evaluate', round(evalUs[2]! / 1000, 3), 'ms per decision with 200 orders held', null, round(evalUs[0]! / 1000, 3), {
    byOrdersHeld: Object.fromEntries(held.map((h, i) => [h, round(evalUs[i]! / 1000, 3)])), note: 'floor = the same decision with nothing held'
  }))
  for (const buildings of [1, 9]) {
    const m = await provisionBench(buildings, `dispatch${buildings + 1}`)
    let r: CaseResult
    try {
      r = await runCase(m, requests, warmup)
    } finally {
      await m.cleanup()
    }
    const f = (s: ReturnType<typeof summarize>): string => `p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`
    say(`${r.nodes} nodes, ${r.requests} requests (in one process): first acceptance ${f(r.first)}; every commitment made answered ${f(r.all)}; acceptance back at the building ${f(r.ack)}`)
    say(`   breakdown (p50): publish (sign + fsync + gossip send) ${r.publish.p50.toFixed(2)} ms → request at a building ${r.gossip.p50.toFixed(2)} ms after start → commitment decided and signed +${r.commit.p50.toFixed(2)} ms → at the requester's commit handler +${r.sent.p50.toFixed(2)} ms (of which on disk at the building +${r.durable.p50.toFixed(2)} ms) → acceptance signed and booked +${r.answer.p50.toFixed(2)} ms`)
    say(`   acceptances per request ${r.acceptedPerRequest.toFixed(2)}; dropped on the fill notice per request ${r.droppedPerRequest.toFixed(2)} of ${buildings - 1} losers; rejections ${JSON.stringify(r.rejectionReasons)}; incomplete ${r.incomplete}; CPU of all ${r.nodes} nodes (one thread) ${r.cpuMsPerRequest.toFixed(1)} ms per request`)
    const name = `dispatch-latency/${r.nodes}-nodes`
    const extra = {
      nodes: r.nodes, requests: r.requests, incomplete: r.incomplete, p99: round(r.first.p99, 3), p90: round(r.first.p90, 3), max: round(r.first.max, 3),
      targetP99: 30, allAnsweredP50: round(r.all.p50, 3), allAnsweredP99: round(r.all.p99, 3), ackAtBuildingP50: round(r.ack.p50, 3),
      breakdownP50: { publish: round(r.publish.p50, 3), gossipArrival: round(r.gossip.p50, 3), commitDecided: round(r.commit.p50, 3), commitAtRequester: round(r.sent.p50, 3), commitDurableAtBuilding: round(r.durable.p50, 3), answerBooked: round(r.answer.p50, 3) },
      acceptedPerRequest: round(r.acceptedPerRequest, 2), droppedPerRequest: round(r.droppedPerRequest, 2), rejections: r.rejectionReasons, cpuMsPerRequest: round(r.cpuMsPerRequest, 2),
      floorParts: { tcpRttP50: round(rtt.p50, 4), tcpRttCrossProcessP50: round(rttX.p50, 4), signUs: round(sig.signUs, 1), verifyUs: round(sig.verifyUs, 1), fsyncP50Ms: round(fsyncMs, 3) },
      floorWithFsyncs: round(floor + 3 * fsyncMs, 3),
      rpcRoundTripMs: { p50: round(rpc.p50, 3), p90: round(rpc.p90, 3), p99: round(rpc.p99, 3) }
    }
    out.push(result(name, round(r.first.p50, 3), 'ms p50 first acceptance', 10, round(floor, 3), extra))
  }
  return out
}
