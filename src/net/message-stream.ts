// A one-way stream of length-prefixed messages (the regulation signal): bounded message size, an
// idle timeout between messages, and the remote peer's party id handed to every message.
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { PairgridLibp2p } from './libp2p.js'
import { partyOfPeer } from '../identity/peer.js'
import type { RpcStats } from './rpc.js'

export interface StreamLimits { maxMessageBytes: number, idleTimeoutMs: number }

export type MessageHandler = (message: Uint8Array, remoteParty: string) => void

export async function serveMessages (net: PairgridLibp2p, protocol: string, limits: StreamLimits, onMessage: MessageHandler, log: Logger, stats: RpcStats): Promise<void> {
  await net.handle(protocol, async (stream: Stream, connection) => {
    const remoteParty = partyOfPeer(connection.remotePeer)
    if (remoteParty === undefined) { stream.abort(new Error('pairgrid peers are identified by Ed25519 keys')); return }
    const lp = lpStream(stream, { maxDataLength: limits.maxMessageBytes })
    for (;;) {
      let message: Uint8Array
      try {
        message = (await lp.read({ signal: AbortSignal.timeout(limits.idleTimeoutMs) })).subarray()
      } catch (err) {
        // End of stream is how the sender finishes; anything else is logged and ends the stream.
        if ((err as Error).name !== 'UnexpectedEOFError') {
          stats.refused[(err as Error).name] = (stats.refused[(err as Error).name] ?? 0) + 1
          log.warn({ protocol, peer: connection.remotePeer.toString(), err: (err as Error).message }, 'message stream ended abnormally')
        }
        stream.abort(err as Error)
        return
      }
      try {
        onMessage(message, remoteParty)
        stats.served++
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err as Error).name
        stats.refused[code] = (stats.refused[code] ?? 0) + 1
        log.warn({ protocol, peer: connection.remotePeer.toString(), code, detail: (err as Error).message }, 'refused stream message')
      }
    }
  }, { maxInboundStreams: 16, maxOutboundStreams: 16 })
}

/** The sending side: opens lazily, reopens after a failure. */
export class MessageSender {
  private lp: LengthPrefixedStream<Stream> | undefined

  constructor (private readonly net: PairgridLibp2p, private readonly peer: PeerId, private readonly protocol: string, private readonly timeoutMs: number) {}

  async send (message: Uint8Array): Promise<void> {
    try {
      this.lp ??= lpStream(await this.net.dialProtocol(this.peer, this.protocol, { signal: AbortSignal.timeout(this.timeoutMs) }))
      await this.lp.write(message, { signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (err) {
      this.lp?.unwrap().abort(err as Error)
      this.lp = undefined
      throw err
    }
  }

  async close (): Promise<void> {
    await this.lp?.unwrap().close().catch(() => {})
    this.lp = undefined
  }
}
