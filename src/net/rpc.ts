// One request, one response over a length-prefixed stream, in the manner of libp2p's fetch
// protocol: bounded sizes, an AbortSignal timeout on every read and write, and a typed error
// message instead of a silent close.
import { lpStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { PairgridLibp2p } from './libp2p.js'
import { partyOfPeer } from '../identity/peer.js'

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

/** Streams one peer may have open at once on one protocol, per connection. */
export const RPC_MAX_INBOUND_STREAMS = 32
/**
 * The whole request must be in this soon after the stream opens: the client writes it at once and
 * it is at most a few KB, so a peer that trickles it (slow-loris) loses the stream after this,
 * not after the protocol's full budget (up to 30 s).
 */
export const RPC_REQUEST_TIMEOUT_MS = 5_000
/** After our answer the client closes its side; one that keeps the stream open loses it after this. */
export const RPC_LINGER_MS = 2_000
/** Room for the varint length prefix (at most 10 bytes) beside a message in a read buffer. */
const PREFIX_BYTES = 10

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

export async function serve (net: PairgridLibp2p, protocol: string, limits: RpcLimits, handler: RpcHandler, log: Logger, stats: RpcStats): Promise<void> {
  await net.handle(protocol, async (stream: Stream, connection) => {
    const signal = AbortSignal.timeout(limits.timeoutMs)
    // Bytes beyond one request are never read: buffering them (4 MB by default) is what a peer
    // streaming endless data would make us do.
    const lp = lpStream(stream, { maxDataLength: limits.maxRequestBytes, maxBufferSize: limits.maxRequestBytes + PREFIX_BYTES })
    let answer: unknown
    const remoteParty = partyOfPeer(connection.remotePeer)
    try {
      if (remoteParty === undefined) throw new RefusedError('not-ed25519-peer', 'pairgrid peers are identified by Ed25519 keys')
      const request = await lp.read({ signal: AbortSignal.timeout(Math.min(RPC_REQUEST_TIMEOUT_MS, limits.timeoutMs)) })
      answer = await handler(request.subarray(), remoteParty)
      stats.served++
    } catch (err) {
      const code = errorCode(err)
      const detail = (err as Error).message
      stats.refused[code] = (stats.refused[code] ?? 0) + 1
      log.warn({ protocol, peer: connection.remotePeer.toString(), code, detail }, 'refused stream request')
      answer = { error: { code, detail } } satisfies RpcError
    }
    try {
      await lp.write(encoder.encode(JSON.stringify(answer)), { signal })
      await release(stream, signal, RPC_LINGER_MS, stats)
    } catch (err) {
      stream.abort(err as Error)
    }
  }, { maxInboundStreams: RPC_MAX_INBOUND_STREAMS, maxOutboundStreams: RPC_MAX_INBOUND_STREAMS })
}

/**
 * Our streams open to one peer on one protocol: at most half of what the peer accepts (a stream
 * we closed may still count there until its close reaches it); calls beyond wait their turn
 * instead of having their streams reset.
 */
export const RPC_MAX_OUTBOUND_STREAMS = RPC_MAX_INBOUND_STREAMS / 2

class Slots {
  private active = 0
  private readonly waiting: Array<() => void> = []
  get idle (): boolean { return this.active === 0 && this.waiting.length === 0 }

  async take (signal: AbortSignal): Promise<void> {
    if (this.active < RPC_MAX_OUTBOUND_STREAMS) {
      this.active++
      return
    }
    await new Promise<void>((resolve, reject) => {
      const turn = (): void => {
        signal.removeEventListener('abort', abort)
        this.active++
        resolve()
      }
      const abort = (): void => {
        this.waiting.splice(this.waiting.indexOf(turn), 1)
        reject(signal.reason)
      }
      this.waiting.push(turn)
      signal.addEventListener('abort', abort, { once: true })
    })
  }

  release (): void {
    this.active--
    this.waiting.shift()?.()
  }
}

const outbound = new WeakMap<PairgridLibp2p, Map<string, Slots>>()

/** Takes one of our stream slots to `peer` on `protocol`; returns its release. */
async function takeSlot (net: PairgridLibp2p, peer: PeerId, protocol: string, signal: AbortSignal): Promise<() => void> {
  let byKey = outbound.get(net)
  if (byKey === undefined) outbound.set(net, byKey = new Map())
  const key = `${peer.toString()} ${protocol}`
  let slots = byKey.get(key)
  if (slots === undefined) byKey.set(key, slots = new Slots())
  await slots.take(signal)
  const taken = slots
  return () => {
    taken.release()
    if (taken.idle) byKey.delete(key)
  }
}

/**
 * Sends one request and returns the parsed response; a typed remote error becomes RemoteError.
 * A stream the peer resets is tried once more: in a burst the peer can be over its stream limit
 * for a moment (a stream we closed still counting there), and every pairgrid handler answers a
 * repeated request as it answered the first.
 */
export async function call (net: PairgridLibp2p, peer: PeerId, protocol: string, request: unknown, limits: RpcLimits): Promise<unknown> {
  const signal = AbortSignal.timeout(limits.timeoutMs)
  const release = await takeSlot(net, peer, protocol, signal)
  // The slot is ours until the stream is closed or aborted, not just until the answer is in.
  let closed: Promise<unknown> = Promise.resolve()
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const { response, close } = await exchange(net, peer, protocol, request, limits, signal)
        closed = close
        if (typeof response === 'object' && response !== null && 'error' in response) {
          const e = (response as RpcError).error
          throw new RemoteError(String(e?.code), String(e?.detail))
        }
        return response
      } catch (err) {
        if (attempt > 1 || !RESET_ERRORS.has((err as Error).name) || signal.aborted) throw err
        await new Promise(resolve => setTimeout(resolve, RESET_RETRY_MS))
      }
    }
  } finally {
    void closed.then(release)
  }
}

const RESET_RETRY_MS = 20
/** How a reset by the peer surfaces: on a read, or on our write to a stream it already reset. */
const RESET_ERRORS = new Set(['StreamResetError', 'StreamStateError'])

/** One stream: the request out, the whole answer in; closing goes on in the background. */
async function exchange (net: PairgridLibp2p, peer: PeerId, protocol: string, request: unknown, limits: RpcLimits, signal: AbortSignal): Promise<{ response: unknown, close: Promise<unknown> }> {
  // The protocol name goes out with the request instead of a round trip ahead of it.
  const stream = await net.dialProtocol(peer, protocol, { signal, negotiateFully: false })
  try {
    // The whole response is buffered before it is returned: the default 4 MB buffer would fail
    // every response above it (telemetry and signals may be 8 and 24 MB).
    const lp = lpStream(stream, { maxDataLength: limits.maxResponseBytes, maxBufferSize: limits.maxResponseBytes + PREFIX_BYTES })
    await lp.write(encoder.encode(JSON.stringify(request)), { signal })
    const response = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode((await lp.read({ signal })).subarray())) as unknown
    return { response, close: stream.close({ signal }).catch(() => {}) }
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
