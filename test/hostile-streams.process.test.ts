// Stream abuse against a running building node and a running utility node (separate processes),
// from raw libp2p peers in the test process: more concurrent streams than a protocol admits,
// slow-loris writers, never-ending streams, announced and actual oversized messages, on every
// pairgrid stream protocol each node serves. Every abusive stream must end (refused, reset or
// answered with an error) within a bound, the nodes' memory must stay bounded, and a normal
// transaction between the two nodes must still settle meanwhile.
import { describe, it, expect, afterAll, beforeAll } from 'vitest'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Stream } from '@libp2p/interface'
import { Cluster, scenarioFile } from './helpers/cluster.js'
import { HostilePeer, lengthPrefix, send, sleep, type StreamOutcome } from './helpers/hostile-peer.js'
import { parseScenario } from '../src/cli/devnet/scenario.js'
import { keyPairFromSeed } from '../src/identity/ed25519.js'
import {
  PROTOCOL_ANSWER, PROTOCOL_CHECKPOINT, PROTOCOL_COMMIT, PROTOCOL_PROFILE, PROTOCOL_REGULATION, PROTOCOL_SETTLE, PROTOCOL_SIGNALS, PROTOCOL_TELEMETRY
} from '../src/net/protocol-ids.js'
import { ANSWER_LIMITS, CHECKPOINT_LIMITS, COMMIT_LIMITS, PROFILE_LIMITS, REGULATION_LIMITS, SETTLE_LIMITS, SIGNALS_LIMITS, TELEMETRY_LIMITS } from '../src/grid/limits.js'
import { RPC_LINGER_MS, RPC_MAX_INBOUND_STREAMS, RPC_REQUEST_TIMEOUT_MS } from '../src/net/rpc.js'
import { MESSAGE_FIRST_TIMEOUT_MS, MESSAGE_MAX_INBOUND_STREAMS, MESSAGE_READ_TIMEOUT_MS } from '../src/net/message-stream.js'

/** RSS a node may reach at any point of the abuse. */
const RSS_BOUND_MB = 300
/** Streams beyond a protocol's limit opened at once. */
const OVER_LIMIT = 16
const SLOW_LORIS_PER_PROTOCOL = 4
const ENDLESS_PER_PROTOCOL = 8
/** A never-ending stream gives up after this much data, or when the node ends it. */
const ENDLESS_MAX_BYTES = 8 * 1024 * 1024
/**
 * Longest any abusive stream may stay open: a request/response stream gets its request timeout,
 * then the linger after the error answer; a message stream its first-message timeout (or, once a
 * message has begun, its read timeout). Plus 3 s of slack for two loaded cores.
 */
const HELD_BOUND_MS = Math.max(RPC_REQUEST_TIMEOUT_MS + RPC_LINGER_MS, MESSAGE_FIRST_TIMEOUT_MS, MESSAGE_READ_TIMEOUT_MS) + 3_000
const GIVE_UP_MS = HELD_BOUND_MS + 5_000

interface Protocol { id: string, name: string, maxBytes: number, limit: number, messages: boolean }
const rpc = (id: string, name: string, maxBytes: number): Protocol => ({ id, name, maxBytes, limit: RPC_MAX_INBOUND_STREAMS, messages: false })
const COMMON = [
  rpc(PROTOCOL_COMMIT, 'commit', COMMIT_LIMITS.maxRequestBytes),
  rpc(PROTOCOL_SETTLE, 'settle', SETTLE_LIMITS.maxRequestBytes),
  rpc(PROTOCOL_SIGNALS, 'signals', SIGNALS_LIMITS.maxRequestBytes),
  rpc(PROTOCOL_PROFILE, 'profile', PROFILE_LIMITS.maxRequestBytes),
  rpc(PROTOCOL_CHECKPOINT, 'checkpoint', CHECKPOINT_LIMITS.maxRequestBytes)
]
const BUILDING_ONLY = [
  rpc(PROTOCOL_TELEMETRY, 'telemetry', TELEMETRY_LIMITS.maxRequestBytes),
  rpc(PROTOCOL_ANSWER, 'answer', ANSWER_LIMITS.maxRequestBytes),
  { id: PROTOCOL_REGULATION, name: 'regulation', maxBytes: REGULATION_LIMITS.maxMessageBytes, limit: MESSAGE_MAX_INBOUND_STREAMS, messages: true }
]

type Attack = 'over-limit' | 'slow-loris' | 'huge-prefix' | 'endless' | 'oversized'
interface Result { node: string, protocol: string, attack: Attack, outcome: StreamOutcome }

const base = await scenarioFile('slice')
const scenario = parseScenario({ ...base, requests: base.requests, parties: [...base.parties, { name: 'mallory', kind: 'peer-facility', marketplaces: ['utility-dr'], accreditations: [] }] }, 'stream abuse test')
const cluster = await Cluster.create(scenario, 120)
const abusers: HostilePeer[] = []
afterAll(async () => {
  await Promise.all(abusers.map(async a => await a.stop()))
  await cluster.destroy()
})

beforeAll(async () => {
  await cluster.start('utility')
  await cluster.start('building-a')
  await cluster.waitForMesh(['utility', 'building-a'], 'utility-dr')
}, 60_000)

async function rssMb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024
}

/** The node writes nothing and waits: the stream takes a slot until the node ends it. */
const idle = async (): Promise<void> => {}

/** Announces a message of `announce` bytes, then trickles one byte every 300 ms. */
const slowLoris = (announce: number) => async (s: Stream, sent: (n: number) => void, done: AbortSignal): Promise<void> => {
  if (!await send(s, lengthPrefix(announce), sent, done)) return
  for (let i = 0; i < announce && !done.aborted; i++) {
    await sleep(300)
    if (!await send(s, Uint8Array.of(0x20), sent, done)) return
  }
}

/** Announces 2 GiB, then sends data as if it were coming. */
const hugePrefix = async (s: Stream, sent: (n: number) => void, done: AbortSignal): Promise<void> => {
  if (!await send(s, lengthPrefix(2 ** 31), sent, done)) return
  for (let i = 0; i < 64 && !done.aborted; i++) {
    if (!await send(s, randomBytes(16 * 1024), sent, done)) return
    await new Promise(resolve => setImmediate(resolve))
  }
}

/** Request/response: a message within the cap, then data that never stops. Message streams: junk messages that never stop. */
const endless = (p: Protocol) => async (s: Stream, sent: (n: number) => void, done: AbortSignal): Promise<void> => {
  let total = 0
  if (!p.messages && !await send(s, lengthPrefix(64), sent, done)) return
  while (total < ENDLESS_MAX_BYTES && !done.aborted) {
    const chunk = p.messages ? Buffer.concat(Array.from({ length: 32 }, () => Buffer.concat([lengthPrefix(1000), randomBytes(1000)]))) : randomBytes(64 * 1024)
    if (!await send(s, chunk, sent, done)) return
    total += chunk.length
    // Let the node's reset reach us: without a turn of the event loop all of it is queued at once.
    await new Promise(resolve => setImmediate(resolve))
  }
}

/** One complete message a byte over the protocol's cap. */
const oversized = (p: Protocol) => async (s: Stream, sent: (n: number) => void, done: AbortSignal): Promise<void> => {
  await send(s, Buffer.concat([lengthPrefix(p.maxBytes + 1), randomBytes(p.maxBytes + 1)]), sent, done)
}

describe('stream abuse', () => {
  it('every abusive stream is bounded, memory stays bounded and a transaction still settles', async () => {
    const targets = await Promise.all([
      { node: 'building-a', protocols: [...COMMON, ...BUILDING_ONLY] },
      { node: 'utility', protocols: COMMON }
    ].map(async t => {
      const s = await cluster.status(t.node) as unknown as { addrs: string[], pid: number }
      return { ...t, addr: `${s.addrs[0]!}`, pid: s.pid }
    }))
    // Two abusers, so the streams over the limit (one connection) do not starve the other attacks
    // (another connection) of slots: stream limits count per connection.
    const crowd = await HostilePeer.raw(keyPairFromSeed(randomBytes(32)))
    const mallory = await HostilePeer.raw(keyPairFromSeed(randomBytes(32)))
    abusers.push(crowd, mallory)
    for (const t of targets) { await crowd.connect(t.addr); await mallory.connect(t.addr) }

    const rss = new Map(targets.map(t => [t.node, { samples: [] as Array<{ at: number, mb: number }> }]))
    const sample = async (): Promise<void> => {
      for (const t of targets) rss.get(t.node)!.samples.push({ at: Date.now(), mb: await rssMb(t.pid) })
    }
    for (let i = 0; i < 5; i++) { await sample(); await sleep(100) }
    const rssBefore = Object.fromEntries(targets.map(t => [t.node, Math.max(...rss.get(t.node)!.samples.map(s => s.mb))]))

    // A normal transaction runs through the abuse: request, commitment, acceptance, execution, settlement.
    const honest = cluster.scenarioRequest(0)

    let sampling = true
    const sampler = (async () => { while (sampling) { await sample(); await sleep(100) } })()
    const abuseStart = Date.now()
    const results: Result[] = []
    const run = async (abuser: HostilePeer, node: string, addr: string, p: Protocol, attack: Attack, fn: Parameters<HostilePeer['abuse']>[3]): Promise<void> => {
      results.push({ node, protocol: p.name, attack, outcome: await abuser.abuse(addr, p.id, GIVE_UP_MS, fn) })
    }
    await Promise.all(targets.flatMap(t => t.protocols.flatMap(p => [
      ...Array.from({ length: p.limit + OVER_LIMIT }, async () => await run(crowd, t.node, t.addr, p, 'over-limit', idle)),
      ...Array.from({ length: SLOW_LORIS_PER_PROTOCOL }, async () => await run(mallory, t.node, t.addr, p, 'slow-loris', slowLoris(Math.min(1000, p.maxBytes)))),
      run(mallory, t.node, t.addr, p, 'huge-prefix', hugePrefix),
      ...Array.from({ length: ENDLESS_PER_PROTOCOL }, async () => await run(mallory, t.node, t.addr, p, 'endless', endless(p))),
      run(mallory, t.node, t.addr, p, 'oversized', oversized(p))
    ])))
    const abuseMs = Date.now() - abuseStart
    const requestId = await honest
    const settled = await cluster.waitFor('the honest transaction to settle', async () => await cluster.txOf('utility', requestId, 'settled'), 60_000)
    await sleep(3_000)
    sampling = false
    await sampler
    const streamStats = Object.fromEntries(await Promise.all(targets.map(async t => [t.node, (await cluster.node(t.node).control.call<{ streams: unknown }>('GET', '/v1/status')).streams] as const)))
    const rssAfter = Object.fromEntries(targets.map(t => [t.node, rss.get(t.node)!.samples.at(-1)!.mb]))
    const rssPeak = Object.fromEntries(targets.map(t => [t.node, Math.max(...rss.get(t.node)!.samples.map(s => s.mb))]))

    // One row per node, protocol and attack: how the streams ended and the longest any was held.
    const table = new Map<string, { count: number, ends: Record<string, number>, maxHeldMs: number, maxAnsweredMs: number, bytesSent: number, answers: Set<string> }>()
    for (const r of results) {
      const key = `${r.node} ${r.protocol} ${r.attack}`
      const row = table.get(key) ?? { count: 0, ends: {}, maxHeldMs: 0, maxAnsweredMs: 0, bytesSent: 0, answers: new Set() }
      row.count++
      row.ends[r.outcome.end] = (row.ends[r.outcome.end] ?? 0) + 1
      row.maxHeldMs = Math.max(row.maxHeldMs, r.outcome.heldMs)
      row.maxAnsweredMs = Math.max(row.maxAnsweredMs, r.outcome.answeredMs ?? 0)
      row.bytesSent += r.outcome.bytesSent
      const code = /"code":"([^"]+)"/.exec(r.outcome.answer ?? '')?.[1]
      if (code !== undefined) row.answers.add(code)
      table.set(key, row)
    }
    console.log([...table].map(([key, row]) => `${key.padEnd(34)} n=${String(row.count).padStart(2)} ${JSON.stringify(row.ends).padEnd(28)} held ≤ ${String(row.maxHeldMs).padStart(5)} ms${row.maxAnsweredMs > 0 ? `, answered ≤ ${row.maxAnsweredMs} ms` : ''}, sent ${row.bytesSent < 10_240 ? `${row.bytesSent} B` : `${(row.bytesSent / 1024).toFixed(0)} KiB`} ${[...row.answers].join(',')}`).join('\n'))
    const figures = {
      streams: results.length,
      abuseMs,
      heldBoundMs: HELD_BOUND_MS,
      maxHeldMs: Math.max(...results.map(r => r.outcome.heldMs)),
      maxDialMs: Math.max(...results.map(r => r.outcome.dialMs)),
      ends: results.reduce<Record<string, number>>((a, r) => { a[r.outcome.end] = (a[r.outcome.end] ?? 0) + 1; return a }, {}),
      bytesSentMiB: Math.round(results.reduce((a, r) => a + r.outcome.bytesSent, 0) / 1024 / 1024),
      rssMb: Object.fromEntries(targets.map(t => [t.node, { before: Math.round(rssBefore[t.node]!), peak: Math.round(rssPeak[t.node]!), after: Math.round(rssAfter[t.node]!) }])),
      rssBoundMb: RSS_BOUND_MB,
      honestTx: { status: settled.status, executed: settled.executed },
      nodeStreamStats: streamStats
    }
    console.log(`${figures.streams} abusive streams in ${abuseMs} ms; longest held ${figures.maxHeldMs} ms from opening (bound ${HELD_BOUND_MS}; dialing took up to ${figures.maxDialMs} ms); RSS MB ${JSON.stringify(figures.rssMb)} (bound ${RSS_BOUND_MB}); honest transaction ${settled.status}`)
    console.log(JSON.stringify({ test: 'hostile-streams', ...figures }))

    // Nothing stayed open: the node reset every abusive stream, within its slowest bound.
    expect(results.filter(r => r.outcome.end === 'open')).toEqual([])
    expect(figures.maxHeldMs).toBeLessThan(HELD_BOUND_MS)
    for (const t of targets) {
      for (const p of t.protocols) {
        const of = (a: Attack): Result[] => results.filter(r => r.node === t.node && r.protocol === p.name && r.attack === a)
        // Beyond the limit, streams are refused or reset right after negotiation, unserved.
        expect(of('over-limit').filter(r => r.outcome.end === 'refused' || (r.outcome.answeredMs === undefined && r.outcome.heldMs < 1_000)).length).toBeGreaterThanOrEqual(OVER_LIMIT)
        // An announced or actual oversize is refused unread, before any timeout: with a typed error
        // answer, or reset at once when the peer keeps sending (its bytes overflow the request buffer).
        for (const r of [...of('huge-prefix'), ...of('oversized')]) {
          expect(r.outcome.answeredMs ?? r.outcome.heldMs).toBeLessThan(RPC_REQUEST_TIMEOUT_MS)
          if (p.messages) expect(r.outcome.answer).toBeUndefined()
          else if (r.attack === 'oversized' || r.outcome.answer !== undefined) expect(r.outcome.answer).toMatch(/"code":"ERR_MSG_(DATA|LENGTH)_TOO_LONG"/)
        }
        // A never-ending stream is cut off long before it has sent what it wanted to.
        for (const r of of('endless')) expect(r.outcome.bytesSent).toBeLessThan(ENDLESS_MAX_BYTES)
      }
      expect(rssPeak[t.node]).toBeLessThan(RSS_BOUND_MB)
    }
    expect(settled.status).toBe('settled')
  }, 90_000)
})
