// The request/response streams over real libp2p on loopback TCP: a burst of calls to one peer
// beyond what it accepts at once is queued on our side, not reset on its side; a burst on a new
// connection does not lose it; streams carry one exchange after another and are closed when idle.
import { describe, it, expect, afterAll } from 'vitest'
import { pino } from 'pino'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNet, muxer, MAX_EARLY_STREAMS, type PairgridLibp2p } from '../src/net/libp2p.js'
import * as ids from '../src/net/protocol-ids.js'
import { lpStream, multiaddrConnectionPair } from '@libp2p/utils'
import { call, closeKeptStreams, serve, RPC_MAX_INBOUND_STREAMS, RPC_MAX_OUTBOUND_STREAMS, RPC_REQUEST_TIMEOUT_MS, type RpcStats } from '../src/net/rpc.js'
import { RPC_IDLE_MS } from '../src/net/rpc-pool.js'

const nets: PairgridLibp2p[] = []
afterAll(async () => { await Promise.all(nets.map(async n => { await closeKeptStreams(n); await n.stop() })) })

const limits = { maxRequestBytes: 1024, maxResponseBytes: 1024, timeoutMs: 20_000 }

async function pair (): Promise<[PairgridLibp2p, PairgridLibp2p]> {
  const [a, b] = await Promise.all([0, 1].map(async () => await createNet({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })))
  nets.push(a!, b!)
  await a!.dial(b!.getMultiaddrs()[0]!)
  return [a!, b!]
}

describe('rpc calls to one peer', () => {
  it(`a burst of ${RPC_MAX_INBOUND_STREAMS * 5} concurrent calls all get their answers; at most ${RPC_MAX_OUTBOUND_STREAMS} are open at once`, async () => {
    const [a, b] = await pair()
    const stats: RpcStats = { served: 0, refused: {} }
    let open = 0
    let most = 0
    await serve(b, '/pairgrid-test/slow/1', limits, async (bytes) => {
      most = Math.max(most, ++open)
      await new Promise(resolve => setTimeout(resolve, 20))
      open--
      return { echo: JSON.parse(new TextDecoder().decode(bytes)) as unknown }
    }, pino({ level: 'silent' }), stats)
    const n = RPC_MAX_INBOUND_STREAMS * 5
    const answers = await Promise.all(Array.from({ length: n }, async (_, i) => await call(a, b.peerId, '/pairgrid-test/slow/1', { i }, limits)))
    expect(answers).toEqual(Array.from({ length: n }, (_, i) => ({ echo: { i } })))
    expect(stats.served).toBe(n)
    expect(stats.refused).toEqual({})
    expect(most).toBeLessThanOrEqual(RPC_MAX_OUTBOUND_STREAMS)
    expect(most).toBeGreaterThan(1)
  })

  it('a stream the peer resets is tried once more (handlers answer a repeat alike); a second reset fails the call', async () => {
    const [a, b] = await pair()
    let streams = 0
    let resets = 1
    await b.handle('/pairgrid-test/flaky/1', async (stream) => {
      streams++
      if (resets-- > 0) { stream.abort(new Error('over the limit')); return }
      const lp = lpStream(stream)
      await lp.read()
      await lp.write(new TextEncoder().encode(JSON.stringify({ ok: streams })))
      await stream.close()
    })
    expect(await call(a, b.peerId, '/pairgrid-test/flaky/1', {}, limits)).toEqual({ ok: 2 })
    streams = 0
    resets = 2
    await expect(call(a, b.peerId, '/pairgrid-test/flaky/1', {}, limits)).rejects.toMatchObject({ name: expect.stringMatching(/^Stream(Reset|State)Error$/) })
    expect(streams).toBe(2)
  })

  it('a call still waiting for a stream slot when its time is up fails with the timeout', async () => {
    const [a, b] = await pair()
    const release = Promise.withResolvers<void>()
    await serve(b, '/pairgrid-test/held/1', limits, async () => { await release.promise; return { ok: true } }, pino({ level: 'silent' }), { served: 0, refused: {} })
    const held = Array.from({ length: RPC_MAX_OUTBOUND_STREAMS }, async () => await call(a, b.peerId, '/pairgrid-test/held/1', {}, limits))
    const late = call(a, b.peerId, '/pairgrid-test/held/1', {}, { ...limits, timeoutMs: 300 })
    await expect(late).rejects.toThrow(/timeout|abort/i)
    release.resolve()
    expect(await Promise.all(held)).toEqual(held.map(() => ({ ok: true })))
  })
})

const encode = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x))
const decode = (b: { subarray: () => Uint8Array }): unknown => JSON.parse(new TextDecoder().decode(b.subarray()))
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Counts the streams `net` opens. */
function countDials (net: PairgridLibp2p): { n: number } {
  const count = { n: 0 }
  const dial = net.dialProtocol.bind(net)
  net.dialProtocol = async (...args: Parameters<typeof dial>) => { count.n++; return await dial(...args) }
  return count
}

describe('streams kept between calls', () => {
  const echo = async (bytes: Uint8Array): Promise<unknown> => {
    const body = JSON.parse(new TextDecoder().decode(bytes)) as { refuse?: boolean }
    if (body.refuse === true) throw new Error('refused on purpose')
    return { echo: body }
  }

  it('calls one after another share one stream; a refused call ends it; an idle one is closed after a while', async () => {
    const [a, b] = await pair()
    const stats: RpcStats = { served: 0, refused: {} }
    await serve(b, '/pairgrid-test/keep/1', limits, echo, pino({ level: 'silent' }), stats)
    const dials = countDials(a)
    for (let i = 0; i < 20; i++) expect(await call(a, b.peerId, '/pairgrid-test/keep/1', { i }, limits)).toEqual({ echo: { i } })
    expect(dials.n).toBe(1)
    await expect(call(a, b.peerId, '/pairgrid-test/keep/1', { refuse: true }, limits)).rejects.toMatchObject({ name: 'RemoteError', code: 'Error' })
    expect(await call(a, b.peerId, '/pairgrid-test/keep/1', { i: 20 }, limits)).toEqual({ echo: { i: 20 } })
    expect(dials.n).toBe(2)
    await sleep(RPC_IDLE_MS + 500)
    const streams = (): number => a.getConnections(b.peerId).flatMap(c => c.streams).filter(s => s.protocol === '/pairgrid-test/keep/1').length
    expect(streams()).toBe(0)
    expect(await call(a, b.peerId, '/pairgrid-test/keep/1', { i: 21 }, limits)).toEqual({ echo: { i: 21 } })
    expect(dials.n).toBe(3)
    expect(stats).toEqual({ served: 22, refused: { Error: 1 } })
  }, 15_000)

  it('the listener answers each request of a stream in turn, and closes one that brings no new request in time without writing to it', async () => {
    const [a, b] = await pair()
    const stats: RpcStats = { served: 0, refused: {} }
    await serve(b, '/pairgrid-test/turns/1', limits, echo, pino({ level: 'silent' }), stats)
    const stream = await a.dialProtocol(b.peerId, '/pairgrid-test/turns/1')
    const lp = lpStream(stream)
    for (let i = 0; i < 3; i++) {
      await lp.write(encode({ i }))
      expect(decode(await lp.read())).toEqual({ echo: { i } })
    }
    const t0 = Date.now()
    // Nothing more comes: the read ends when the listener closes its side, not with an answer.
    await expect(lp.read({ signal: AbortSignal.timeout(RPC_REQUEST_TIMEOUT_MS + 3_000) })).rejects.toMatchObject({ name: 'UnexpectedEOFError' })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(RPC_REQUEST_TIMEOUT_MS - 100)
    expect(stream.remoteWriteStatus).not.toBe('writable')
    expect(stats).toEqual({ served: 3, refused: {} })
    await stream.close()
  }, 15_000)

  it('a kept stream the listener wrote to between calls is not read for the next answer', async () => {
    const [a, b] = await pair()
    let answers = 0
    await b.handle('/pairgrid-test/chatty/1', async (stream) => {
      const lp = lpStream(stream)
      for (;;) {
        try { await lp.read() } catch { return }
        await lp.write(encode({ answer: ++answers }))
        await sleep(50)
        await lp.write(encode({ answer: 'stale' }))
      }
    })
    expect(await call(a, b.peerId, '/pairgrid-test/chatty/1', {}, limits)).toEqual({ answer: 1 })
    await sleep(150)
    expect(await call(a, b.peerId, '/pairgrid-test/chatty/1', {}, limits)).toEqual({ answer: 2 })
  })
})

describe('a new connection', () => {
  // The accepting side's muxer holds the streams opened before its connection is set up (on a
  // loaded machine the dialer's burst arrives in that gap); past the limit yamux drops the
  // connection. Real yamux on both ends over an in-memory byte pipe, the listener attached late.
  async function earlyStreams (n: number): Promise<{ arrived: number, status: string }> {
    const [outbound, inbound] = multiaddrConnectionPair()
    const factory = muxer()()
    const dialer = factory.createStreamMuxer(outbound)
    const acceptor = factory.createStreamMuxer(inbound)
    await Promise.allSettled(Array.from({ length: n }, async () => await dialer.createStream()))
    await new Promise(resolve => setTimeout(resolve, 50))
    let arrived = 0
    acceptor.addEventListener('stream', () => { arrived++ })
    await new Promise(resolve => setTimeout(resolve, 50))
    const status = acceptor.status
    dialer.abort(new Error('done'))
    acceptor.abort(new Error('done'))
    return { arrived, status }
  }

  it(`accepts a burst of every pairgrid protocol at its stream limit opened before it is set up; drops one past ${MAX_EARLY_STREAMS}`, async () => {
    const protocols = Object.values(ids).filter(v => typeof v === 'string' && v.startsWith('/pairgrid/')).length
    const burst = protocols * RPC_MAX_OUTBOUND_STREAMS + 2
    expect(burst).toBeLessThanOrEqual(MAX_EARLY_STREAMS)
    expect(await earlyStreams(MAX_EARLY_STREAMS)).toEqual({ arrived: MAX_EARLY_STREAMS, status: 'open' })
    expect((await earlyStreams(MAX_EARLY_STREAMS + 1)).status).not.toBe('open')
  })
})
