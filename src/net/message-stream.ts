// A one-way stream of length-prefixed messages (the regulation signal): bounded message size, an
// idle timeout between messages, and the remote peer's party id handed to every message. A peer
// that never delivers a message, trickles one, floods unread bytes or keeps sending refused
// messages loses the stream (an honest sender opens a new one on its next message).
import { byteStream, type ByteStream, lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { PairgridLibp2p } from './libp2p.js'
import { partyOfPeer } from '../identity/peer.js'
import { errorCode, type RpcStats } from './rpc.js'

export interface StreamLimits { maxMessageBytes: number, idleTimeoutMs: number }

/** Streams one peer may have open at once on one message protocol, per connection. */
export const MESSAGE_MAX_INBOUND_STREAMS = 16
/**
 * The sender writes its first message as soon as it opens the stream; the idle timeout between
 * messages only applies once a message has been accepted, so a stream that never carries one
 * is held this long at most.
 */
export const MESSAGE_FIRST_TIMEOUT_MS = 5_000
/** A message is written at once: from its first byte, all of it must be in within this. */
export const MESSAGE_READ_TIMEOUT_MS = 2_000
/** Refused messages one stream may carry before it is reset. */
export const MESSAGE_MAX_REFUSED = 16
/** Unread messages a stream may buffer (a burst while the node is busy) before it is reset. */
const MAX_BUFFERED_MESSAGES = 32

export class MessageTooLongError extends Error {
  readonly code = 'ERR_MSG_DATA_TOO_LONG'
  constructor (length: number, max: number) {
    super(`message of ${length} bytes announced, at most ${max} accepted`)
    this.name = 'MessageTooLongError'
  }
}

/**
 * Reads one unsigned-varint length-prefixed message: its first byte within `wait`, then the rest
 * within MESSAGE_READ_TIMEOUT_MS. An announced length over `maxBytes` fails at once, unread.
 */
async function readMessage (bytes: ByteStream<Stream>, maxBytes: number, wait: AbortSignal): Promise<Uint8Array> {
  let b = (await bytes.read({ bytes: 1, signal: wait })).get(0)
  const signal = AbortSignal.timeout(MESSAGE_READ_TIMEOUT_MS)
  let length = 0
  for (let shift = 0; ; shift += 7) {
    length += (b & 0x7f) * 2 ** shift
    if (length > maxBytes) throw new MessageTooLongError(length, maxBytes)
    if (b < 0x80) break
    b = (await bytes.read({ bytes: 1, signal })).get(0)
  }
  return (await bytes.read({ bytes: length, signal })).subarray()
}

export type MessageHandler = (message: Uint8Array, remoteParty: string) => void

export async function serveMessages (net: PairgridLibp2p, protocol: string, limits: StreamLimits, onMessage: MessageHandler, log: Logger, stats: RpcStats): Promise<void> {
  await net.handle(protocol, async (stream: Stream, connection) => {
    const remoteParty = partyOfPeer(connection.remotePeer)
    if (remoteParty === undefined) { stream.abort(new Error('pairgrid peers are identified by Ed25519 keys')); return }
    // Each buffered message comes with its varint prefix (at most 10 bytes).
    const bytes = byteStream(stream, { maxBufferSize: MAX_BUFFERED_MESSAGES * (limits.maxMessageBytes + 10) })
    let accepted = 0
    let refused = 0
    for (;;) {
      let message: Uint8Array
      try {
        message = await readMessage(bytes, limits.maxMessageBytes, AbortSignal.timeout(accepted > 0 ? limits.idleTimeoutMs : Math.min(MESSAGE_FIRST_TIMEOUT_MS, limits.idleTimeoutMs)))
      } catch (err) {
        // End of stream is how the sender finishes; anything else is logged and ends the stream.
        if ((err as Error).name !== 'UnexpectedEOFError') {
          const code = errorCode(err)
          stats.refused[code] = (stats.refused[code] ?? 0) + 1
          log.warn({ protocol, peer: connection.remotePeer.toString(), code, err: (err as Error).message }, 'message stream ended abnormally')
        }
        stream.abort(err as Error)
        return
      }
      try {
        onMessage(message, remoteParty)
        stats.served++
        accepted++
      } catch (err) {
        const code = errorCode(err)
        stats.refused[code] = (stats.refused[code] ?? 0) + 1
        log.warn({ protocol, peer: connection.remotePeer.toString(), code, detail: (err as Error).message }, 'refused stream message')
        if (++refused >= MESSAGE_MAX_REFUSED) {
          stats.refused['too-many-refused'] = (stats.refused['too-many-refused'] ?? 0) + 1
          stream.abort(new Error(`${refused} refused messages on one stream`))
          return
        }
      }
    }
  }, { maxInboundStreams: MESSAGE_MAX_INBOUND_STREAMS, maxOutboundStreams: MESSAGE_MAX_INBOUND_STREAMS })
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
