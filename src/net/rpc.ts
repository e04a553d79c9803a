// Request and response over a length-prefixed stream, in the manner of libp2p's fetch protocol:
// bounded sizes, an AbortSignal timeout on every read and write, and a typed error message
// instead of a silent close. One exchange at a time per stream; a stream may carry several in
// turn (the client keeps it for its next call, rpc-pool.ts).
import { lpStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { PairgridLibp2p } from './libp2p.js'
import { partyOfPeer } from '../identity/peer.js'
import { PREFIX_BYTES, StreamPool } from './rpc-pool.js'

export { RPC_MAX_OUTBOUND_STREAMS } from './rpc-pool.js'

export interface RpcLimits {
  /** Largest request accepted by the server. */
  maxRequestBytes: number
  /** Largest response accepted by the client. */
  maxResponseBytes: number
  timeoutMs: number
}

export interface RpcError { error: { code: string, detail: string } }

export class RemoteError extends Error {
  constructor (readonly code: string, detail: string) {
    super(`${code}: ${detail}`)
    this.name = 'RemoteError'
  }
}

/** Thrown by handlers to answer with a typed error. */
export class RefusedError extends Error {
  constructor (readonly code: string, detail: string) {
    super(detail)
    this.name = 'RefusedError'
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Streams one peer may have open at once on one protocol, per connection. */
export const RPC_MAX_INBOUND_STREAMS = 32
/**
 * Each request must be in whole this soon after the stream opens or after our previous answer:
 * the client writes it at once and it is at most a few KB, so a peer that trickles it
 * (slow-loris) loses the stream after this, not after the protocol's full budget (up to 30 s);
 * a kept stream with no new request by then is closed.
 */
export const RPC_REQUEST_TIMEOUT_MS = 5_000
/** After we close our side the client closes its own; one that keeps the stream open loses it after this. */
export const RPC_LINGER_MS = 2_000

export type RpcHandler = (request: Uint8Array, remoteParty: string) => Promise<unknown>

export interface RpcStats { served: number, refused: Record<string, number> }

/** A string code for stats and logs (DOMException's `code` is a number; its name says more). */
export function errorCode (err: unknown): string {
  if (err instanceof RefusedError) return err.code
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? code : (err as Error).name
}

/**
 * Closes our side (within the exchange's budget: a large answer may still be on its way) and
 * waits for the peer to close its own; a peer that has not within `lingerMs` has the stream
 * reset, so it cannot keep a stream slot and its buffers after the exchange.
 */
async function release (stream: Stream, signal: AbortSignal, lingerMs: number, stats: RpcStats): Promise<void> {
  await stream.close({ signal })
  if (stream.status !== 'open') return
  await new Promise<void>(resolve => {
    const timer = setTimeout(() => {
      stats.refused.lingered = (stats.refused.lingered ?? 0) + 1
      stream.abort(new Error('peer kept the stream open after the exchange'))
      resolve()
    }, lingerMs)
    stream.addEventListener('close', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}

function refusal (err: unknown, protocol: string, peer: string, log: Logger, stats: RpcStats): RpcError {
  const code = errorCode(err)
  const detail = (err as Error).message
  stats.refused[code] = (stats.refused[code] ?? 0) + 1
  log.warn({ protocol, peer, code, detail }, 'refused stream request')
  return { error: { code, detail } }
}

/**
 * Answers requests one after another on each stream (a client keeps a stream for its next call,
 * rpc-pool.ts). A refused request is answered and ends the stream: after a framing error nothing
 * more can be read from it, and a peer sending junk gets one refusal per stream it opens.
 */
export async function serve (net: PairgridLibp2p, protocol: string, limits: RpcLimits, handler: RpcHandler, log: Logger, stats: RpcStats): Promise<void> {
  await net.handle(protocol, async (stream: Stream, connection) => {
    // Bytes beyond one request are never read: buffering them (4 MB by default) is what a peer
    // streaming endless data would make us do.
    const lp = lpStream(stream, { maxDataLength: limits.maxRequestBytes, maxBufferSize: limits.maxRequestBytes + PREFIX_BYTES })
    const peer = connection.remotePeer.toString()
    const remoteParty = partyOfPeer(connection.remotePeer)
    // Whether any byte of a next request came: a kept stream that ends or idles without one is
    // just closed (an answer then would be read as the answer to the client's next call).
    let arrived = false
    stream.addEventListener('message', () => { arrived = true })
    try {
      for (let exchanges = 0; ; exchanges++) {
        let request: Uint8Array
        try {
          if (remoteParty === undefined) throw new RefusedError('not-ed25519-peer', 'pairgrid peers are identified by Ed25519 keys')
          request = (await lp.read({ signal: AbortSignal.timeout(Math.min(RPC_REQUEST_TIMEOUT_MS, limits.timeoutMs)) })).subarray()
        } catch (err) {
          if (exchanges > 0 && !arrived) break
          await lp.write(encoder.encode(JSON.stringify(refusal(err, protocol, peer, log, stats))), { signal: AbortSignal.timeout(limits.timeoutMs) })
          break
        }
        arrived = false
        const signal = AbortSignal.timeout(limits.timeoutMs)
        let answer: unknown
        let refused = false
        try {
          answer = await handler(request, remoteParty)
          stats.served++
        } catch (err) {
          answer = refusal(err, protocol, peer, log, stats)
          refused = true
        }
        await lp.write(encoder.encode(JSON.stringify(answer)), { signal })
        if (refused) break
      }
      await release(stream, AbortSignal.timeout(limits.timeoutMs), RPC_LINGER_MS, stats)
    } catch (err) {
      stream.abort(err as Error)
    }
  }, { maxInboundStreams: RPC_MAX_INBOUND_STREAMS, maxOutboundStreams: RPC_MAX_INBOUND_STREAMS })
}

const pools = new WeakMap<PairgridLibp2p, Map<string, StreamPool>>()

function poolOf (net: PairgridLibp2p, peer: PeerId, protocol: string, limits: RpcLimits): StreamPool {
  let byKey = pools.get(net)
  if (byKey === undefined) pools.set(net, byKey = new Map())
  const key = `${peer.toString()} ${protocol}`
  let pool = byKey.get(key)
  if (pool === undefined) {
    // The protocol name goes out with the first request instead of a round trip ahead of it.
    const dial = async (signal: AbortSignal): Promise<Stream> => await net.dialProtocol(peer, protocol, { signal, negotiateFully: false })
    byKey.set(key, pool = new StreamPool(dial, limits.maxResponseBytes, () => byKey.delete(key)))
  }
  return pool
}

/** Closes the streams kept for next calls; before the node stops. */
export async function closeKeptStreams (net: PairgridLibp2p): Promise<void> {
  await Promise.all([...pools.get(net)?.values() ?? []].map(async pool => { await pool.closeIdle() }))
}

const RESET_RETRY_MS = 20
/** How a reset by the peer surfaces: on a read, or on our write to a stream it already reset. */
const RESET_ERRORS = new Set(['StreamResetError', 'StreamStateError'])

/**
 * Sends one request and returns the parsed response; a typed remote error becomes RemoteError.
 * A kept stream that fails is replaced by another (the listener may have closed it meanwhile, or
 * restarted). A new stream the peer resets is tried once more: in a burst the peer can be over its
 * stream limit for a moment (a stream we closed still counting there). Both rest on every pairgrid
 * handler answering a repeated request as it answered the first.
 */
export async function call (net: PairgridLibp2p, peer: PeerId, protocol: string, request: unknown, limits: RpcLimits): Promise<unknown> {
  const signal = AbortSignal.timeout(limits.timeoutMs)
  const pool = poolOf(net, peer, protocol, limits)
  const message = encoder.encode(JSON.stringify(request))
  for (let resets = 0; ;) {
    const channel = await pool.take(signal)
    let response: unknown
    try {
      await channel.lp.write(message, { signal })
      response = JSON.parse(decoder.decode((await channel.lp.read({ signal })).subarray()))
    } catch (err) {
      pool.discard(channel, err as Error)
      if (signal.aborted) throw err
      if (channel.reused) continue
      if (resets++ > 0 || !RESET_ERRORS.has((err as Error).name)) throw err
      await new Promise(resolve => setTimeout(resolve, RESET_RETRY_MS))
      continue
    }
    if (typeof response === 'object' && response !== null && 'error' in response) {
      // The listener ends the stream after a refusal.
      void pool.retire(channel)
      const e = (response as RpcError).error
      throw new RemoteError(String(e?.code), String(e?.detail))
    }
    pool.put(channel)
    return response
  }
}
