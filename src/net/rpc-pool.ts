// The dialer's streams to one peer on one request/response protocol. Opening a stream is most of
// what a call costs in js-libp2p (muxer setup, protocol selection, a peer-store write on both
// ends: ≈ 1.2 ms of CPU against ≈ 0.2 ms for an exchange on an open stream), so a stream that
// carried an answer is kept for the next call for a little while. At most
// RPC_MAX_OUTBOUND_STREAMS are open at once, idle ones included; calls beyond wait their turn.
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'

/**
 * Our streams open to one peer on one protocol: at most half of what the peer accepts (a stream
 * we closed may still count there until its close reaches it).
 */
export const RPC_MAX_OUTBOUND_STREAMS = 16
/**
 * How long a stream waits for our next call before we close it: well inside the listener's
 * 5 s (RPC_REQUEST_TIMEOUT_MS), so a call on a kept stream does not race the listener's close.
 */
export const RPC_IDLE_MS = 3_000
/** Room for the varint length prefix (at most 10 bytes) beside a message in a read buffer. */
export const PREFIX_BYTES = 10

export interface Channel {
  stream: Stream
  lp: LengthPrefixedStream<Stream>
  /** false on its first call: a kept stream that fails may just have been closed by the listener */
  reused: boolean
}

interface Idle { channel: Channel, timer: NodeJS.Timeout, forget: () => void }

export class StreamPool {
  /** Streams counted against the limit: in a call, idle, or closing. */
  private open = 0
  private readonly idle: Idle[] = []
  /** Calls waiting for a stream: handed a kept one, or undefined when a slot is theirs to dial. */
  private readonly waiting: Array<(channel: Channel | undefined) => void> = []

  constructor (
    private readonly dial: (signal: AbortSignal) => Promise<Stream>,
    private readonly maxResponseBytes: number,
    private readonly onEmpty: () => void
  ) {}

  /** The most recently used idle stream, else a new one; waits while all the slots are taken. */
  async take (signal: AbortSignal): Promise<Channel> {
    const kept = this.idle.pop()
    if (kept !== undefined) {
      kept.forget()
      return kept.channel
    }
    if (this.open < RPC_MAX_OUTBOUND_STREAMS) {
      this.open++
      return await this.opened(signal)
    }
    const handed = await new Promise<Channel | undefined>((resolve, reject) => {
      const turn = (channel: Channel | undefined): void => {
        signal.removeEventListener('abort', abort)
        resolve(channel)
      }
      const abort = (): void => {
        this.waiting.splice(this.waiting.indexOf(turn), 1)
        reject(signal.reason)
      }
      this.waiting.push(turn)
      signal.addEventListener('abort', abort, { once: true })
    })
    return handed ?? await this.opened(signal)
  }

  /** A stream whose exchange went through: to the next waiting call, or kept for a while. */
  put (channel: Channel): void {
    channel.reused = true
    const next = this.waiting.shift()
    if (next !== undefined) return next(channel)
    const { stream } = channel
    if (stream.status !== 'open' || stream.remoteWriteStatus !== 'writable') return void this.retire(channel)
    // Anything from the listener between exchanges would be read as the next call's answer.
    const unsolicited = (): void => { this.evict(entry); this.discard(channel, new Error('the listener sent data between exchanges')) }
    const closing = (): void => { this.evict(entry); void this.retire(channel) }
    const gone = (): void => { this.evict(entry); this.free() }
    const entry: Idle = {
      channel,
      timer: setTimeout(closing, RPC_IDLE_MS).unref(),
      forget: () => {
        clearTimeout(entry.timer)
        stream.removeEventListener('message', unsolicited)
        stream.removeEventListener('remoteCloseWrite', closing)
        stream.removeEventListener('close', gone)
      }
    }
    stream.addEventListener('message', unsolicited)
    stream.addEventListener('remoteCloseWrite', closing)
    stream.addEventListener('close', gone)
    this.idle.push(entry)
  }

  /** Closes every idle stream (before the node stops: its muxer would otherwise reset them all at once). */
  async closeIdle (): Promise<void> {
    const idle = this.idle.splice(0)
    await Promise.all(idle.map(async ({ channel, forget }) => {
      forget()
      await this.retire(channel)
    }))
  }

  /** Closes our side; the slot is free once the close is through (the listener counts it until then). */
  async retire (channel: Channel): Promise<void> {
    await channel.stream.close({ signal: AbortSignal.timeout(RPC_IDLE_MS) })
      .catch((err: Error) => { channel.stream.abort(err) })
      .finally(() => { this.free() })
  }

  discard (channel: Channel, err: Error): void {
    channel.stream.abort(err)
    this.free()
  }

  private evict (entry: Idle): void {
    entry.forget()
    const i = this.idle.indexOf(entry)
    if (i >= 0) this.idle.splice(i, 1)
  }

  private async opened (signal: AbortSignal): Promise<Channel> {
    try {
      const stream = await this.dial(signal)
      // The whole response is buffered before it is returned: the default 4 MB buffer would fail
      // every response above it (telemetry and signals may be 8 and 24 MB).
      return { stream, lp: lpStream(stream, { maxDataLength: this.maxResponseBytes, maxBufferSize: this.maxResponseBytes + PREFIX_BYTES }), reused: false }
    } catch (err) {
      this.free()
      throw err
    }
  }

  /** A slot is free: a waiting call dials on it, else the count goes down. */
  private free (): void {
    const next = this.waiting.shift()
    if (next !== undefined) return next(undefined)
    this.open--
    if (this.open === 0) this.onEmpty()
  }
}
