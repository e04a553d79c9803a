// A party's libp2p PeerId is derived from its record-signing key, so the signer of a record
// and the remote end of a stream can be compared directly.
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { fromBase64url } from '../records/bytes.js'
import type { KeyPair } from './ed25519.js'

export async function libp2pPrivateKey (keys: KeyPair): Promise<PrivateKey> {
  return await generateKeyPairFromSeed('Ed25519', keys.seed)
}

export function peerIdOfParty (partyId: string): PeerId {
  return peerIdFromPublicKey(publicKeyFromRaw(fromBase64url(partyId)))
}

/** The party id (base64url Ed25519 key) of a remote peer, or undefined if its key is not Ed25519. */
export function partyOfPeer (peer: PeerId): string | undefined {
  if (peer.type !== 'Ed25519') return undefined
  return Buffer.from(peer.publicKey.raw).toString('base64url')
}
