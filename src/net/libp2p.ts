// libp2p v3 assembly: TCP + Noise + yamux, identify (gossipsub needs it) and gossipsub.
// @chainsafe/libp2p-gossipsub@14 only speaks libp2p v2; @libp2p/gossipsub is its v3 carry-over.
import { createHash } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import type { GossipSub, GossipsubOpts, Message } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import { SCORE_THRESHOLDS, peerScoreParams } from './scoring.js'

export type PairgridLibp2p = Libp2p<{ identify: Identify, pubsub: GossipSub }>

export interface NetOptions {
  privateKey: PrivateKey
  listen: string[]
  /** Listening beyond loopback is an explicit operator decision (config `listenBeyondLoopback`). */
  beyondLoopback?: boolean
  /**
   * Replaces some of `gossipOptions()`. For measurements only (bench/gossip-reach.ts runs the
   * previous StrictSign configuration as its comparison); a pairgrid node never sets it, and a
   * node with another signature policy cannot exchange messages with pairgrid nodes.
   */
  gossip?: Partial<GossipsubOpts>
}

/**
 * Gossip message id: the SHA-256 of the message data. Every marketplace message is a canonical
 * encoding of signed records (protocols/network.md §3), so the id names the content: all copies
 * of a record, whoever forwards them, are one message to gossipsub's seen cache and IHAVE/IWANT.
 */
export function contentMessageId (msg: Message): Uint8Array {
  const d = createHash('sha256').update(msg.data).digest()
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

/** The gossipsub options of every pairgrid node. */
export function gossipOptions (): Partial<GossipsubOpts> {
  return {
    // No gossipsub envelope signature (no from, seqno, key): what we gossip are signed records,
    // verified once per node by the topic validators, and the forwarding peer is authenticated by
    // Noise. StrictSign verified a second Ed25519 signature on every copy received, duplicates
    // included, re-importing the publisher's key each time: half of a node's CPU per message.
    globalSignaturePolicy: StrictNoSign,
    msgIdFn: contentMessageId,
    // With content ids the seen cache also refuses to publish the same record again while it
    // remembers it (2 min by default): republishing open offers to a peer that subscribed since
    // would fail. Copies arriving later still meet the validators, which Ignore known records.
    seenTTL: 5_000,
    // Readiness is "mesh peers present": never publish into the void silently.
    allowPublishToZeroTopicPeers: false,
    emitSelf: false,
    // Validation happens in our topic validators; Reject lowers the forwarding peer's score.
    asyncValidation: false,
    heartbeatInterval: 700,
    // IDONTWANT (gossipsub 1.2) tells every mesh peer not to send a message we already have: worth
    // it for large messages, but ours are signed records of about 0.7–1.5 KB, and an IDONTWANT to
    // each mesh peer per message cost about as much CPU as forwarding it (one more encrypted frame
    // and socket write each). Above 2 KB it still applies.
    idontwantMinDataSize: 2_048,
    // Each channel scores its topics as it joins them (scoring.ts).
    scoreParams: peerScoreParams(),
    scoreThresholds: SCORE_THRESHOLDS
  }
}

/**
 * Inbound connections accepted per second from one remote IP address (libp2p's default is 5).
 * On loopback every peer is the same address, so this is the node's whole inbound budget: in a
 * devnet, a test cluster or the gossip bench (up to 60 nodes on 127.0.0.1, each dialing several
 * others at once) one node receives more than 5 dials within a second, and the default refused
 * the excess (each refused dial is retried with backoff, stretching startup by seconds). At 100,
 * every peer of the largest network we run can connect within one second, retries included.
 * One abusive host stays bounded by maxIncomingPendingConnections (10 handshakes in flight, the
 * default) and maxConnections (300); beyond loopback, all the nodes of a campus behind one NAT
 * address can likewise reconnect at once after an outage.
 */
export const INBOUND_CONNECTIONS_PER_HOST_PER_SECOND = 100

/**
 * Streams a peer may open on a new connection before our side has finished setting it up.
 * yamux keeps those "early" streams until the connection is ready and, past its default of 10,
 * closes the whole connection. The dialer's side is ready first and a pairgrid node opens its
 * streams as soon as it is: identify, gossipsub, and up to RPC_MAX_OUTBOUND_STREAMS (16) calls per
 * protocol (a provider reconnecting with settlements, answers and telemetry queued). On a loaded
 * machine the accepting side's setup lagged behind a burst of 16 and the connection was lost with
 * every call on it. 256 covers all twelve pairgrid stream protocols (protocol-ids.ts) at their limit
 * at once, with identify and gossipsub.
 */
export const MAX_EARLY_STREAMS = 256

/** The stream muxer of every pairgrid connection. */
export function muxer (): ReturnType<typeof yamux> {
  return yamux({ maxEarlyStreams: MAX_EARLY_STREAMS })
}

export async function createNet ({ privateKey, listen, beyondLoopback = false, gossip }: NetOptions): Promise<PairgridLibp2p> {
  for (const addr of listen) {
    if (!beyondLoopback && !/^\/ip[46]\/(127\.0\.0\.1|::1)\//.test(addr)) throw new Error(`refusing to listen on ${addr}: pairgrid listens on loopback (127.0.0.1 or ::1) unless the config sets "listenBeyondLoopback": true`)
  }
  return await createLibp2p({
    privateKey,
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer()],
    connectionManager: { maxConnections: 300, inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_HOST_PER_SECOND },
    services: {
      identify: identify(),
      pubsub: gossipsub({ ...gossipOptions(), ...gossip })
    }
  }) as PairgridLibp2p
}
