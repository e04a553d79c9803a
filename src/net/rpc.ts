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

export type RpcHandler = (request: Uint8Array, remoteParty: string) => Promise<unknown>

export interface RpcStats { served: number, refused: Record<string, number> }

export async function serve (net: PairgridLibp2p, protocol: string, limits: RpcLimits, handler: RpcHandler, log: Logger, stats: RpcStats): Promise<void> {
  await net.handle(protocol, async (stream: Stream, connection) => {
    const signal = AbortSignal.timeout(limits.timeoutMs)
    const lp = lpStream(stream, { maxDataLength: limits.maxRequestBytes })
    let answer: unknown
    const remoteParty = partyOfPeer(connection.remotePeer)
    try {
      if (remoteParty === undefined) throw new RefusedError('not-ed25519-peer', 'pairgrid peers are identified by Ed25519 keys')
      const request = await lp.read({ signal })
      answer = await handler(request.subarray(), remoteParty)
      stats.served++
    } catch (err) {
      const code = err instanceof RefusedError ? err.code : (err as { code?: string }).code ?? (err as Error).name
      const detail = (err as Error).message
      stats.refused[code] = (stats.refused[code] ?? 0) + 1
      log.warn({ protocol, peer: connection.remotePeer.toString(), code, detail }, 'refused stream request')
      answer = { error: { code, detail } } satisfies RpcError
    }
    try {
      await lp.write(encoder.encode(JSON.stringify(answer)), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
    }
  }, { maxInboundStreams: 32, maxOutboundStreams: 32 })
}

/** Sends one request and returns the parsed response; a typed remote error becomes RemoteError. */
export async function call (net: PairgridLibp2p, peer: PeerId, protocol: string, request: unknown, limits: RpcLimits): Promise<unknown> {
  const signal = AbortSignal.timeout(limits.timeoutMs)
  const stream = await net.dialProtocol(peer, protocol, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: limits.maxResponseBytes })
    await lp.write(encoder.encode(JSON.stringify(request)), { signal })
    const response = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode((await lp.read({ signal })).subarray())) as unknown
    await stream.close({ signal }).catch(() => {})
    if (typeof response === 'object' && response !== null && 'error' in response) {
      const e = (response as RpcError).error
      throw new RemoteError(String(e?.code), String(e?.detail))
    }
    return response
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
