// libp2p v3 assembly: TCP + Noise + yamux, identify (gossipsub needs it) and gossipsub.
// @chainsafe/libp2p-gossipsub@14 only speaks libp2p v2; @libp2p/gossipsub is its v3 carry-over.
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import { SCORE_THRESHOLDS, peerScoreParams } from './scoring.js'

export type PairgridLibp2p = Libp2p<{ identify: Identify, pubsub: GossipSub }>

export interface NetOptions {
  privateKey: PrivateKey
  listen: string[]
  /** Listening beyond loopback is an explicit operator decision (config `listenBeyondLoopback`). */
  beyondLoopback?: boolean
}

export async function createNet ({ privateKey, listen, beyondLoopback = false }: NetOptions): Promise<PairgridLibp2p> {
  for (const addr of listen) {
    if (!beyondLoopback && !/^\/ip[46]\/(127\.0\.0\.1|::1)\//.test(addr)) throw new Error(`refusing to listen on ${addr}: pairgrid listens on loopback (127.0.0.1 or ::1) unless the config sets "listenBeyondLoopback": true`)
  }
  return await createLibp2p({
    privateKey,
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 300 },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        // Readiness is "mesh peers present": never publish into the void silently.
        allowPublishToZeroTopicPeers: false,
        emitSelf: false,
        // Validation happens in our topic validators; Reject lowers the sender's score.
        asyncValidation: false,
        heartbeatInterval: 700,
        // Each channel scores its topics as it joins them (scoring.ts).
        scoreParams: peerScoreParams(),
        scoreThresholds: SCORE_THRESHOLDS
      })
    }
  }) as PairgridLibp2p
}
