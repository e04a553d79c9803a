// Gossipsub peer scoring for the marketplace topics. Without topic score params a Reject from our
// validators changes nobody's score; with these, a peer that keeps sending invalid or unadmitted
// messages is first cut off from gossip, then from our publishes, then graylisted (its RPCs are
// dropped before validation) and pruned from our meshes.
//
// The unit of the scale is one rejected message: P4 counts them, squared, at weight −10. All the
// positive side together is capped at +10, so good behaviour never buys forgiveness for more than
// one rejected message. Honest peers can be rejected now and then without malice: a relay that has
// not yet received a revocation forwards that requester's requests, and our validator Rejects them.
// So the thresholds sit at a few rejections (gossip), half a dozen (publish) and eleven (graylist):
// a flooder crosses all three in its first burst, a relay with a stale credential store does not.
import { createTopicScoreParams, validateTopicScoreParams, type PeerScoreParams, type PeerScoreThresholds, type TopicScoreParams } from '@libp2p/gossipsub/score'
import type { GossipSub } from '@libp2p/gossipsub'

/** Counters decay once a second (gossipsub's minimum): scores follow a flood within a second. */
export const SCORE_DECAY_INTERVAL_MS = 1_000

/** Per-interval decay factor under which a counter halves every `halfLifeMs`. */
function decayWithHalfLife (halfLifeMs: number): number {
  return 0.5 ** (SCORE_DECAY_INTERVAL_MS / halfLifeMs)
}

/** Sum of the positive topic contributions (P1 + P2 over all topics) a peer can reach. */
export const TOPIC_SCORE_CAP = 10

/** Weight of one rejected message (P4 is the square of the decaying count of them). */
const INVALID_MESSAGE_WEIGHT = -10

export const SCORE_THRESHOLDS: PeerScoreThresholds = {
  // 4 recent rejections (−160 + at most +10): no more IHAVE/IWANT either way; 3 (−90) are tolerated.
  gossipThreshold: -100,
  // 6 rejections (−360 + 10): we stop flood-publishing our own requests to it.
  publishThreshold: -250,
  // 11 rejections (−1210 + 10): every RPC from it is dropped before decoding or validation.
  graylistThreshold: -1000,
  // Peer exchange is off (doPX false); if enabled, take it only from a peer at the full positive cap.
  acceptPXThreshold: TOPIC_SCORE_CAP,
  // Median mesh score below 1 (half an hour in the mesh, or one first delivery): graft better peers.
  opportunisticGraftThreshold: 1
}

/**
 * One marketplace topic (requests, members; offers when that channel exists). They are low-rate:
 * a request now and then, a credential batch per member every 30 s. So scoring rewards staying and
 * delivering first, punishes invalid messages hard, and never punishes silence.
 */
export const MARKET_TOPIC_SCORE: Partial<TopicScoreParams> = {
  // Every marketplace topic counts fully: a bad credential batch is as bad as a bad request.
  topicWeight: 1,
  // P1, time in mesh: +1/30 a minute up to +2 after an hour, so long-standing members rank above
  // newcomers when the mesh is trimmed, and a Sybil cannot outrank them by joining in bulk.
  timeInMeshWeight: 1 / 30,
  timeInMeshQuantum: 60_000,
  timeInMeshCap: 60,
  // P2, first deliveries of valid messages: +1 each up to +5, halving every 10 minutes (the topic's
  // pace: a relay that brought us the last few requests first is worth keeping).
  firstMessageDeliveriesWeight: 1,
  firstMessageDeliveriesDecay: decayWithHalfLife(10 * 60_000),
  firstMessageDeliveriesCap: 5,
  // P3 and P3b, mesh delivery rate: off. With a request every few minutes the expected rate is ~0,
  // so a deficit penalty would only punish honest mesh peers for the absence of traffic.
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  // P4, invalid deliveries: the count halves every 10 minutes. A flooder is graylisted after at
  // most ~130 rejections (gossipsub takes 128 messages from a peer at score ≥ 0 before it scores it
  // again) and stays graylisted up to ~40 min. An honest relay never reaches the gossip threshold
  // with 3 rejections, and is back above it ~4 min after 4.
  invalidMessageDeliveriesWeight: INVALID_MESSAGE_WEIGHT,
  invalidMessageDeliveriesDecay: decayWithHalfLife(10 * 60_000)
}

/** Global score parameters; topics are added as the node joins them (scoreTopic). */
export function peerScoreParams (): Partial<PeerScoreParams> {
  return {
    topics: {},
    topicScoreCap: TOPIC_SCORE_CAP,
    // P5 unused: admission is checked on every message by the validators, and scoring peers by
    // their role would rank the relays that carry a marketplace's traffic below its members.
    appSpecificScore: () => 0,
    appSpecificWeight: 1,
    // P6, IP colocation: off for loopback, where every peer of a node comes from 127.0.0.1 or ::1
    // (the default listen addresses, and every test) and a penalty would hit all of them alike.
    // Beyond loopback (listenBeyondLoopback), more than 10 peers on one address start paying (15
    // sit at the gossip threshold): a campus behind one NAT passes, a Sybil farm on one host not.
    IPColocationFactorWeight: SCORE_THRESHOLDS.gossipThreshold / 25,
    IPColocationFactorThreshold: 10,
    IPColocationFactorWhitelist: new Set(['127.0.0.1', '::1']),
    // P7, protocol misbehaviour (GRAFT during backoff, IHAVE never followed by the message): the
    // first 6 are free (a loaded 2-core node drops some IWANT answers), then the excess counts
    // squared at −10, halving every 5 minutes: 4 beyond the free ones cross the gossip threshold.
    behaviourPenaltyWeight: -10,
    behaviourPenaltyThreshold: 6,
    behaviourPenaltyDecay: decayWithHalfLife(5 * 60_000),
    decayInterval: SCORE_DECAY_INTERVAL_MS,
    decayToZero: 0.01,
    // A disconnected peer's (non-positive) score is kept an hour: reconnecting does not launder it.
    retainScore: 3_600_000
  }
}

/** What we use of the router beyond the GossipSub interface (all public on the implementation). */
interface ScoredRouter {
  score: { params: PeerScoreParams }
  getScore: (peerId: string) => number
  getMeshPeers: (topic: string) => string[]
  getPeers: () => Array<{ toString: () => string }>
}

function router (pubsub: GossipSub): ScoredRouter {
  return pubsub as unknown as ScoredRouter
}

/** Scores a topic from now on; call before subscribing so mesh time counts from the first GRAFT. */
export function scoreTopic (pubsub: GossipSub, topic: string, params: Partial<TopicScoreParams> = MARKET_TOPIC_SCORE): void {
  const full = createTopicScoreParams(params)
  validateTopicScoreParams(full)
  router(pubsub).score.params.topics[topic] = full
}

/** Current score of every connected gossip peer, by peer id. */
export function peerScores (pubsub: GossipSub): Record<string, number> {
  const r = router(pubsub)
  return Object.fromEntries(r.getPeers().map(p => [p.toString(), r.getScore(p.toString())]))
}

export function meshPeers (pubsub: GossipSub, topic: string): string[] {
  return router(pubsub).getMeshPeers(topic)
}
