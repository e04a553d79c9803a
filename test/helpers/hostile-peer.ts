// A hostile (or merely misbehaving) peer: a real libp2p node in the test process, with a party's
// key, that joins a marketplace's topics over TCP and publishes whatever bytes a test gives it —
// bypassing every check an honest pairgrid node makes before publishing.
import { multiaddr } from '@multiformats/multiaddr'
import { createNet, type PairgridLibp2p } from '../../src/net/libp2p.js'
import { libp2pPrivateKey } from '../../src/identity/peer.js'
import type { KeyPair } from '../../src/identity/ed25519.js'
import { requestTopic, membersTopic } from '../../src/net/protocol-ids.js'

export class HostilePeer {
  private constructor (readonly net: PairgridLibp2p) {}

  static async start (keys: KeyPair, bootstrap: string, marketplace: string): Promise<HostilePeer> {
    const net = await createNet({ privateKey: await libp2pPrivateKey(keys), listen: ['/ip4/127.0.0.1/tcp/0'] })
    for (const t of [requestTopic(marketplace), membersTopic(marketplace)]) net.services.pubsub.subscribe(t)
    await net.dial(multiaddr(bootstrap))
    const peer = new HostilePeer(net)
    const deadline = Date.now() + 20_000
    while ((net.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(requestTopic(marketplace)).length === 0) {
      if (Date.now() > deadline) throw new Error('hostile peer did not join the mesh')
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    return peer
  }

  async publishRequest (marketplace: string, bytes: Uint8Array): Promise<void> {
    await this.net.services.pubsub.publish(requestTopic(marketplace), bytes)
  }

  async stop (): Promise<void> { await this.net.stop() }
}
