// A hostile (or merely misbehaving) peer: a real libp2p node in the test process, with a party's
// key, that joins a marketplace's topics over TCP and publishes whatever bytes a test gives it —
// bypassing every check an honest pairgrid node makes before publishing — or abuses the stream
// protocols of a node it dials. Every loop here is bounded in count and in time.
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { createNet, type PairgridLibp2p } from '../../src/net/libp2p.js'
import { libp2pPrivateKey } from '../../src/identity/peer.js'
import type { KeyPair } from '../../src/identity/ed25519.js'
import type { Envelope } from '../../src/records/envelope.js'
import { requestTopic, membersTopic, PROTOCOL_PROFILE } from '../../src/net/protocol-ids.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

export interface FloodOptions {
  marketplace: string
  ratePerSecond: number
  durationMs: number
  /** The i-th message's bytes. */
  message: (i: number) => Uint8Array
  /** Called about every 20 ms with the count sent so far (the test samples the nodes meanwhile). */
  onTick?: (sent: number, elapsedMs: number) => void
}

export interface FloodResult { sent: number, failed: number, elapsedMs: number, ratePerSecond: number }

/** How an abusive stream ended, from the abuser's side. */
export interface StreamOutcome {
  /** 'refused': never opened (dial or negotiation failed); 'reset': ended by the node; 'open': still open when we gave up. */
  end: 'refused' | 'reset' | 'open'
  /** Dialing and negotiating the stream. */
  dialMs: number
  /** From the stream's opening to its end. */
  heldMs: number
  /** From the stream's opening to the node closing its side (after its answer, if any), if it did. */
  answeredMs?: number
  bytesSent: number
  answer?: string
}

export class HostilePeer {
  private constructor (readonly net: PairgridLibp2p) {}

  get peerId (): string { return this.net.peerId.toString() }

  /** Joins a marketplace's topics through the given nodes and waits for a mesh peer. */
  static async start (keys: KeyPair, bootstrap: string | string[], marketplace: string): Promise<HostilePeer> {
    const net = await createNet({ privateKey: await libp2pPrivateKey(keys), listen: ['/ip4/127.0.0.1/tcp/0'] })
    for (const t of [requestTopic(marketplace), membersTopic(marketplace)]) net.services.pubsub.subscribe(t)
    for (const addr of [bootstrap].flat()) await net.dial(multiaddr(addr))
    const peer = new HostilePeer(net)
    const deadline = Date.now() + 20_000
    while (peer.meshPeers(marketplace).length === 0) {
      if (Date.now() > deadline) throw new Error('hostile peer did not join the mesh')
      await sleep(100)
    }
    return peer
  }

  /** A libp2p node that joins no topic: it only dials and opens streams. */
  static async raw (keys: KeyPair): Promise<HostilePeer> {
    return new HostilePeer(await createNet({ privateKey: await libp2pPrivateKey(keys), listen: ['/ip4/127.0.0.1/tcp/0'] }))
  }

  meshPeers (marketplace: string): string[] {
    return (this.net.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(requestTopic(marketplace))
  }

  async publishRequest (marketplace: string, bytes: Uint8Array): Promise<void> {
    await this.net.services.pubsub.publish(requestTopic(marketplace), bytes)
  }

  /** Answers the profile protocol with the party's own (genuine) credentials, as a member would. */
  async serveCredentials (records: Envelope[]): Promise<void> {
    await this.net.handle(PROTOCOL_PROFILE, async (stream) => {
      const lp = lpStream(stream)
      const signal = AbortSignal.timeout(5_000)
      try {
        await lp.read({ signal })
        await lp.write(new TextEncoder().encode(JSON.stringify({ records })), { signal })
        await stream.close({ signal })
      } catch (err) { stream.abort(err as Error) }
    })
  }

  /** Publishes at a fixed rate until `durationMs` has passed (at most rate × duration messages). */
  async flood (opts: FloodOptions): Promise<FloodResult> {
    const topic = requestTopic(opts.marketplace)
    const max = Math.floor(opts.ratePerSecond * opts.durationMs / 1000)
    const start = Date.now()
    let sent = 0
    let failed = 0
    while (Date.now() - start < opts.durationMs && sent < max) {
      const due = Math.min(max, Math.floor((Date.now() - start) * opts.ratePerSecond / 1000))
      const batch: Array<Promise<unknown>> = []
      for (; sent < due; sent++) batch.push(this.net.services.pubsub.publish(topic, opts.message(sent)).catch(() => { failed++ }))
      await Promise.all(batch)
      opts.onTick?.(sent, Date.now() - start)
      await sleep(20)
    }
    const elapsedMs = Date.now() - start
    return { sent, failed, elapsedMs, ratePerSecond: sent / (elapsedMs / 1000) }
  }

  async connect (addr: string): Promise<void> {
    await this.net.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
  }

  /**
   * Opens a stream on `protocol` to the peer of `addr` and runs `abuse` on it — which goes on
   * whether or not the node answers — until the node ends the stream or `maxMs` have passed. We
   * never close our side: only the node can free the stream (and we abort it when we give up).
   */
  async abuse (addr: string, protocol: string, maxMs: number, abuse: (s: Stream, sent: (n: number) => void, done: AbortSignal) => Promise<void>): Promise<StreamOutcome> {
    const dialStart = Date.now()
    let stream: Stream
    try {
      stream = await this.net.dialProtocol(multiaddr(addr), protocol, { signal: AbortSignal.timeout(10_000) })
    } catch {
      return { end: 'refused', dialMs: Date.now() - dialStart, heldMs: 0, bytesSent: 0 }
    }
    const start = Date.now()
    const dialMs = start - dialStart
    // Over a protocol's stream limit the node resets the stream right after negotiation, which
    // can be before dialProtocol returns.
    if (stream.status !== 'open') return { end: 'reset', dialMs, heldMs: 0, bytesSent: 0 }
    let bytesSent = 0
    let answeredMs: number | undefined
    const chunks: Uint8Array[] = []
    const ended = new AbortController()
    stream.addEventListener('message', (evt) => { chunks.push(evt.data.subarray()) })
    stream.addEventListener('remoteCloseWrite', () => { answeredMs ??= Date.now() - start })
    stream.addEventListener('close', () => { ended.abort() })
    // A plain timer: AbortSignal.any holds its sources weakly, and a collected timeout never fires.
    const giveUp = setTimeout(() => { ended.abort() }, maxMs)
    await abuse(stream, (n) => { bytesSent += n }, ended.signal).catch(() => {})
    if (!ended.signal.aborted) await new Promise(resolve => ended.signal.addEventListener('abort', resolve, { once: true }))
    clearTimeout(giveUp)
    const outcome: StreamOutcome = { end: stream.status === 'open' ? 'open' : 'reset', dialMs, heldMs: Date.now() - start, bytesSent }
    stream.abort(new Error('abuser done'))
    if (answeredMs !== undefined) outcome.answeredMs = answeredMs
    const text = Buffer.concat(chunks).toString('utf8')
    if (text.length > 0) outcome.answer = text.slice(0, 200)
    return outcome
  }

  async stop (): Promise<void> { await this.net.stop() }
}

/** Queues bytes, then waits for the stream to drain if its buffer is full; false once it cannot send. */
export async function send (stream: Stream, bytes: Uint8Array, sent: (n: number) => void, done: AbortSignal): Promise<boolean> {
  if (done.aborted || stream.writeStatus !== 'writable') return false
  try {
    const more = stream.send(bytes)
    sent(bytes.length)
    if (!more) await stream.onDrain({ signal: done })
  } catch { return false }
  return true
}

/** An unsigned-varint length prefix (what lpStream reads) announcing `length` bytes. */
export function lengthPrefix (length: number): Uint8Array {
  const out: number[] = []
  for (let n = length; ; n = Math.floor(n / 128)) {
    if (n < 128) { out.push(n); break }
    out.push((n % 128) | 0x80)
  }
  return Uint8Array.from(out)
}

export { sleep }
