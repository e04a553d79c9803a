// Child process of gossip-reach: hosts K libp2p + gossipsub nodes built by the project's own
// createNet (TCP + Noise + yamux on 127.0.0.1), and answers the parent over IPC. Receipt times are
// `performance.timeOrigin + performance.now()`, comparable across processes on one machine.
import '../src/polyfill.js'
import { readFile } from 'node:fs/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { StrictSign, TopicValidatorResult, type GossipsubOpts } from '@libp2p/gossipsub'
import { createNet, type PairgridLibp2p } from '../src/net/libp2p.js'
import { decodeRecord, encodeRecord, signRecord } from '../src/records/envelope.js'
import { newKeys, requestBody, SIM_ORIGIN } from './fixtures.js'

/** 'project': createNet as is; 'strictsign-before': createNet with the previous gossip signing policy. */
export type Variant = 'project' | 'strictsign-before'

export type ToWorker =
  | { cmd: 'init', count: number, topic: string, verify: boolean, variant?: Variant }
  | { cmd: 'dial', dials: Array<{ from: number, addr: string }> }
  | { cmd: 'status' }
  | { cmd: 'publish', local: number, seq: number }
  | { cmd: 'collect' }
  | { cmd: 'io' }
  | { cmd: 'stop' }

export type FromWorker =
  | { cmd: 'ready', nodes: Array<{ peerId: string, addr: string }> }
  | { cmd: 'dialed', failures: string[] }
  | { cmd: 'status', mesh: number[], peers: number[], connected: string[][] }
  | { cmd: 'published', seq: number, t: number, recipients: number, bytes: number, error?: string }
  | { cmd: 'receipts', receipts: Array<[seq: number, local: number, t: number]>, validations: number }
  | { cmd: 'io', wchar: number, rchar: number, cpuUs: number }
  | { cmd: 'stopped' }
  | { cmd: 'error', message: string }

const wallNow = (): number => performance.timeOrigin + performance.now()
const nodes: PairgridLibp2p[] = []
const receipts: Array<[number, number, number]> = []
let topic = ''
let validations = 0
const signer = newKeys()

function send (msg: FromWorker): void { process.send?.(msg) }

/**
 * The configuration before StrictNoSign, for comparison: createNet's own stack and options but
 * gossipsub's default StrictSign (every message signed by its publisher with a seqno, each copy's
 * signature verified on receipt) and its default message id (publisher + seqno).
 */
const STRICT_SIGN_BEFORE: Partial<GossipsubOpts> = { globalSignaturePolicy: StrictSign, msgIdFn: undefined }

/** A real signed grid.request, prefixed by 4 bytes of sequence number so receivers can match it. */
function payload (seq: number): Uint8Array {
  const rec = encodeRecord(signRecord('grid.request', requestBody(signer.id, SIM_ORIGIN, seq % 50), signer).record)
  const out = new Uint8Array(4 + rec.length)
  new DataView(out.buffer).setUint32(0, seq)
  out.set(rec, 4)
  return out
}

async function handle (msg: ToWorker): Promise<void> {
  switch (msg.cmd) {
    case 'init': {
      topic = msg.topic
      for (let i = 0; i < msg.count; i++) {
        const privateKey = await generateKeyPair('Ed25519')
        const net = await createNet({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], ...(msg.variant === 'strictsign-before' ? { gossip: STRICT_SIGN_BEFORE } : {}) })
        const local = i
        const pubsub = net.services.pubsub
        pubsub.topicValidators.set(topic, (_peer, m) => {
          validations++
          if (msg.verify) {
            try { decodeRecord(m.data.subarray(4), ['grid.request'] as const) } catch { return TopicValidatorResult.Reject }
          }
          return TopicValidatorResult.Accept
        })
        pubsub.addEventListener('message', (evt) => {
          if (evt.detail.topic !== topic) return
          const t = wallNow()
          const d = evt.detail.data
          receipts.push([new DataView(d.buffer, d.byteOffset, 4).getUint32(0), local, t])
        })
        pubsub.subscribe(topic)
        nodes.push(net)
      }
      send({ cmd: 'ready', nodes: nodes.map(n => ({ peerId: n.peerId.toString(), addr: n.getMultiaddrs()[0]!.toString() })) })
      return
    }
    case 'dial': {
      // A few at a time, retrying a refused dial: createNet raises libp2p's per-address inbound
      // rate limit (everything here is 127.0.0.1), but a loaded box still times dials out.
      const failures: string[] = []
      const queue = [...msg.dials]
      await Promise.all(Array.from({ length: 3 }, async () => {
        for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
          for (let attempt = 1; ; attempt++) {
            try {
              await nodes[d.from]!.dial(multiaddr(d.addr), { signal: AbortSignal.timeout(10_000) })
              break
            } catch (err) {
              if (attempt >= 8) { failures.push(`${d.from} → ${d.addr}: ${(err as Error).message}`); break }
              await new Promise(resolve => setTimeout(resolve, 200 * attempt))
            }
          }
        }
      }))
      send({ cmd: 'dialed', failures })
      return
    }
    case 'status': {
      const meshOf = (n: PairgridLibp2p): number => (n.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(topic).length
      send({ cmd: 'status', mesh: nodes.map(meshOf), peers: nodes.map(n => n.getPeers().length), connected: nodes.map(n => n.getPeers().map(p => p.toString())) })
      return
    }
    case 'publish': {
      const data = payload(msg.seq)
      const t = wallNow()
      try {
        const res = await nodes[msg.local]!.services.pubsub.publish(topic, data)
        send({ cmd: 'published', seq: msg.seq, t, recipients: res.recipients.length, bytes: data.length - 4 })
      } catch (err) {
        send({ cmd: 'published', seq: msg.seq, t, recipients: 0, bytes: data.length - 4, error: (err as Error).message })
      }
      return
    }
    case 'collect': {
      send({ cmd: 'receipts', receipts: receipts.splice(0), validations })
      return
    }
    case 'io': {
      // Bytes this process wrote/read through syscalls: libp2p traffic (Noise + yamux framed) plus little IPC.
      const io = await readFile('/proc/self/io', 'utf8')
      const field = (f: string): number => Number(new RegExp(`^${f}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN)
      const cpu = process.cpuUsage()
      send({ cmd: 'io', wchar: field('wchar'), rchar: field('rchar'), cpuUs: cpu.user + cpu.system })
      return
    }
    case 'stop': {
      await Promise.all(nodes.map(async n => await Promise.resolve(n.stop()).catch(() => {})))
      send({ cmd: 'stopped' })
      process.disconnect?.()
      setTimeout(() => process.exit(0), 50).unref()
    }
  }
}

process.on('message', (msg: ToWorker) => {
  handle(msg).catch(err => send({ cmd: 'error', message: (err as Error).stack ?? String(err) }))
})
// The parent going away ends the worker (never leave libp2p nodes behind).
process.on('disconnect', () => {
  void Promise.all(nodes.map(async n => await Promise.resolve(n.stop()).catch(() => {}))).finally(() => process.exit(0))
})
