// Property-based fuzzing of the handlers behind the gossip topic and the commit stream, on a real
// node: validly signed records with one field wrong — a signer that is not the stream's peer,
// replays, expired or far-future dates, another marketplace, an unknown settlement method,
// inconsistent price terms, another meter or requester, quantities beyond the request. None is
// ever accepted; each gets a typed reason (an error code or a signed rejection). On the gossip
// topic, whichever peer relays a record: only its signer's admission counts, and a record is
// accepted once.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fc from 'fast-check'
import { join } from 'node:path'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { pino } from 'pino'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { PairgridNode } from '../src/node/node.js'
import { scaledClock } from '../src/node/clock.js'
import { provision } from '../src/cli/devnet/provision.js'
import { credentialFile } from '../src/cli/devnet/provision.js'
import { readKeyFile, generateKeyPair } from '../src/identity/keyfile.js'
import { peerIdOfParty } from '../src/identity/peer.js'
import { encodeRecord, signRecord, type Envelope, type Verified } from '../src/records/envelope.js'
import type { CommitmentBody, RequestBody } from '../src/records/grid-schemas.js'
import type { KeyPair } from '../src/identity/ed25519.js'
import { scenarioFile } from './helpers/cluster.js'
import { requestTopic } from '../src/net/protocol-ids.js'

const SIM = Date.UTC(2026, 10, 21, 14, 0)
let root: string
let node: PairgridNode
let utility: KeyPair
let building: KeyPair
let meter: KeyPair
let market: string
const counts = { tried: 0, accepted: 0 }

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pairgrid-fuzz-handlers-'))
  const ids = await provision(await scenarioFile('slice'), root, SIM)
  market = ids.marketplaces.get('utility-dr')!
  utility = await readKeyFile(join(root, 'utility', 'keys', 'party.key'))
  building = await readKeyFile(join(root, 'building-a', 'keys', 'party.key'))
  meter = await readKeyFile(join(root, 'building-a', 'keys', 'meter.key'))
  node = await PairgridNode.start(join(root, 'utility'), { clock: scaledClock({ wall: Date.now(), sim: SIM, speed: 1 }), logger: pino({ level: 'silent' }) })
  // The building's profile and accreditations, as its node would announce them.
  const accreditations = (await credentialFile(root, 'building-a')).filter(r => r.type === 'credential.accreditation')
  const profile = signRecord('party.profile', {
    party: building.id, kind: 'building', name: 'building-a', version: 1, location: { feeder: 'feeder-1', node: 'building-a', latE6: 0, lonE6: 0 },
    services: [], meter: meter.id, accreditations: [], issuedAt: SIM
  }, building)
  const { verifyRecord } = await import('../src/records/envelope.js')
  await node.credentials.add([profile, ...accreditations.map(a => verifyRecord(a, ['credential.accreditation'] as const))])
}, 60_000)

afterAll(async () => {
  await node.stop()
  await rm(root, { recursive: true, force: true })
  console.log(`fuzz handlers: ${counts.tried} inputs, ${counts.accepted} accepted`)
})

const tariff = { mechanism: 'tariff' as const, reference: 'tariff/utility-dr-2026', currency: 'USD', rate: 150_000, rateUnit: 'MWh' as const }

/** A request of ours, logged and booked as publishing would. */
async function ownRequest (nonce: number): Promise<Verified<'grid.request'>> {
  const start = Math.ceil((node.clock.now() + 40 * 60_000) / 60_000) * 60_000
  const body: RequestBody = {
    marketplace: market, requester: utility.id, service: 'demand-response', window: { start, end: start + 900_000 }, quantity: { value: 50_000, unit: 'W' },
    price: tariff, settlementMethod: 'pairgrid/dr-mbe/1', settlementIntervalMs: 900_000, toleranceBp: 1000,
    nonce: nonce.toString(16).padStart(32, '0'), issuedAt: node.clock.now(), expiresAt: start
  }
  const request = signRecord('grid.request', body, utility)
  await node.log.append(request)
  node.book.add(request)
  return request
}

function commitmentFor (request: Verified<'grid.request'>): CommitmentBody {
  const r = request.record.body
  return { request: request.id, marketplace: r.marketplace, requester: r.requester, provider: building.id, service: r.service, window: r.window, quantity: r.quantity, price: r.price, settlementMethod: r.settlementMethod, meter: meter.id, elements: ['building'], issuedAt: node.clock.now() }
}

/** One field wrong, everything else valid and validly signed. */
const commitmentFault = fc.constantFrom(
  (c: CommitmentBody): CommitmentBody => ({ ...c, marketplace: 'b'.repeat(64) }),
  (c: CommitmentBody): CommitmentBody => ({ ...c, settlementMethod: 'pairgrid/unknown/9' }),
  (c: CommitmentBody): CommitmentBody => ({ ...c, price: { ...c.price, rate: c.price.rate + 1 } }),
  (c: CommitmentBody): CommitmentBody => ({ ...c, price: { ...c.price, mechanism: 'framework' } }),
  (c: CommitmentBody): CommitmentBody => ({ ...c, window: { start: c.window.start + 60_000, end: c.window.end + 60_000 } }),
  (c: CommitmentBody): CommitmentBody => ({ ...c, quantity: { ...c.quantity, value: c.quantity.value + 1 } }),
  (c: CommitmentBody): CommitmentBody => ({ ...c, quantity: { ...c.quantity, unit: 'var' } }),
  (c: CommitmentBody): CommitmentBody => ({ ...c, service: 'peak-shaving' }),
  (c: CommitmentBody): CommitmentBody => ({ ...c, request: 'c'.repeat(64) }),
  (c: CommitmentBody): CommitmentBody => ({ ...c, meter: generateKeyPair().id }),
  (c: CommitmentBody): CommitmentBody => ({ ...c, issuedAt: c.issuedAt + 3_600_000 })
)

describe('fuzzing the commit-stream handler', () => {
  it('never accepts a commitment with one thing wrong, and answers each with a typed reason', async () => {
    let nonce = 1
    await fc.assert(fc.asyncProperty(commitmentFault, fc.boolean(), async (fault, wrongPeer) => {
      const request = await ownRequest(nonce++)
      const body = fault(commitmentFor(request))
      const signer = wrongPeer ? generateKeyPair() : building
      const bytes = encodeRecord(signRecord('grid.commitment', { ...body, provider: wrongPeer ? signer.id : body.provider }, signer).record)
      counts.tried++
      let answer: Envelope | { pending: unknown } | undefined
      try {
        answer = await node.requester.onCommitment(bytes, building.id)
      } catch (err) {
        expect((err as { code?: string }).code).toMatch(/^[a-z-]+$/)
        return
      }
      if ((answer as Envelope).type === 'grid.acceptance') counts.accepted++
      expect((answer as Envelope).type).toBe('grid.rejection')
      expect(((answer as Envelope).body as { reason: string }).reason).toMatch(/^[a-z-]+$/)
    }), { numRuns: 120 })
  }, 120_000)

  it('answers a replayed commitment with the same signed answer, never a second one', async () => {
    const request = await ownRequest(100_000)
    const bytes = encodeRecord(signRecord('grid.commitment', commitmentFor(request), building).record)
    const first = await node.requester.onCommitment(bytes, building.id) as Envelope
    expect(first.type).toBe('grid.acceptance')
    for (let i = 0; i < 5; i++) {
      counts.tried++
      expect(await node.requester.onCommitment(bytes, building.id)).toEqual(first)
    }
    // The same commitment from a peer that did not sign it is refused outright.
    counts.tried++
    await expect(node.requester.onCommitment(bytes, generateKeyPair().id)).rejects.toMatchObject({ code: 'signer-not-peer' })
  })
})

describe('fuzzing the gossip request validator', () => {
  const requestFault = fc.constantFrom(
    (r: RequestBody): RequestBody => ({ ...r, marketplace: 'b'.repeat(64) }),
    (r: RequestBody): RequestBody => ({ ...r, settlementMethod: 'pairgrid/unknown/9' }),
    (r: RequestBody): RequestBody => ({ ...r, price: { ...r.price, mechanism: 'auction' } }),
    (r: RequestBody): RequestBody => ({ ...r, toleranceBp: r.toleranceBp + 1 }),
    (r: RequestBody): RequestBody => ({ ...r, settlementIntervalMs: 3_600_000 }),
    (r: RequestBody): RequestBody => ({ ...r, expiresAt: r.issuedAt - 1, issuedAt: r.issuedAt - 60_000 }),
    (r: RequestBody): RequestBody => ({ ...r, issuedAt: r.issuedAt + 3_600_000, expiresAt: r.expiresAt + 3_600_000 }),
    (r: RequestBody): RequestBody => ({ ...r, service: 'voltage-support' })
  )

  type Validate = (peer: unknown, msg: unknown, marketplace: string) => Promise<TopicValidatorResult>
  const validator = (): Validate => (node.channel as unknown as { validate: Validate }).validate.bind(node.channel)
  /** A gossip message as gossipsub hands it to the validator: no publisher, no signature (StrictNoSign). */
  const message = (data: Uint8Array): unknown => ({ type: 'unsigned', topic: requestTopic(market), data })
  const goodRequest = (requester: KeyPair, nonce: string, issuedAt = node.clock.now()): RequestBody => {
    const start = Math.ceil((issuedAt + 40 * 60_000) / 60_000) * 60_000
    return {
      marketplace: market, requester: requester.id, service: 'demand-response', window: { start, end: start + 900_000 }, quantity: { value: 50_000, unit: 'W' },
      price: tariff, settlementMethod: 'pairgrid/dr-mbe/1', settlementIntervalMs: 900_000, toleranceBp: 1000,
      nonce, issuedAt, expiresAt: start
    }
  }

  it('never accepts a request with one thing wrong, whichever peer relays it', async () => {
    const validate = validator()
    let nonce = 200_000
    await fc.assert(fc.asyncProperty(requestFault, fc.boolean(), async (fault, byStranger) => {
      // Signed by the marketplace's operator (admitted to request), one field wrong; relayed by
      // the operator's own peer or by a peer of no party at all.
      const record = signRecord('grid.request', fault(goodRequest(utility, (nonce++).toString(16).padStart(32, '0'))), utility).record
      const relay = peerIdOfParty(byStranger ? generateKeyPair().id : utility.id)
      counts.tried++
      const verdict = await validate(relay, message(encodeRecord(record)), market)
      if (verdict === TopicValidatorResult.Accept) counts.accepted++
      expect(verdict).not.toBe(TopicValidatorResult.Accept)
    }), { numRuns: 120 })
    // The control: the same request without a fault is accepted, also when a stranger relays it.
    for (const [i, relay] of [utility.id, generateKeyPair().id].entries()) {
      const valid = signRecord('grid.request', goodRequest(utility, `f${i}`.padStart(32, '0')), utility).record
      expect(await validate(peerIdOfParty(relay), message(encodeRecord(valid)), market)).toBe(TopicValidatorResult.Accept)
    }
  }, 120_000)

  it('rejects a request its signer is not admitted to make, whichever peer relays it — its signer\'s own or an admitted party\'s', async () => {
    const validate = validator()
    const stranger = generateKeyPair()
    const record = signRecord('grid.request', goodRequest(stranger, 'a'.repeat(32)), stranger).record
    for (const relay of [stranger.id, utility.id, building.id]) {
      const before = node.channel.stats.rejected['unknown-party'] ?? 0
      counts.tried++
      expect(await validate(peerIdOfParty(relay), message(encodeRecord(record)), market)).toBe(TopicValidatorResult.Reject)
      expect(node.channel.stats.rejected['unknown-party']).toBe(before + 1)
    }
    // The operator named as requester but a stranger's signature: the record pipeline refuses it.
    const forged = signRecord('grid.request', goodRequest(stranger, 'e'.repeat(32)), stranger).record
    const claimed = { ...forged, body: { ...forged.body, requester: utility.id } }
    counts.tried++
    expect(await validate(peerIdOfParty(utility.id), message(encodeRecord(claimed)), market)).toBe(TopicValidatorResult.Reject)
  })

  it('hands a relayed record to the node once: replays and other encodings of it are never accepted again', async () => {
    const validate = validator()
    const stats = node.channel.stats
    const record = signRecord('grid.request', goodRequest(utility, 'd'.repeat(32)), utility).record
    const canonical = encodeRecord(record)
    // Any JSON spelling of a record verifies, but only its canonical bytes are a valid message:
    // one message id per record, so gossipsub's seen cache drops every further copy.
    const spaced = new TextEncoder().encode(JSON.stringify(record, null, 1))
    const nonCanonical = stats.rejected['non-canonical'] ?? 0
    counts.tried++
    expect(await validate(peerIdOfParty(generateKeyPair().id), message(spaced), market)).toBe(TopicValidatorResult.Reject)
    expect(stats.rejected['non-canonical']).toBe(nonCanonical + 1)
    expect(await validate(peerIdOfParty(generateKeyPair().id), message(canonical), market)).toBe(TopicValidatorResult.Accept)
    // The same record again, from the first relay or any other (once gossipsub's seen cache has
    // forgotten it): Ignored, not forwarded, not handed to the node, nobody's score lowered.
    const duplicates = stats.ignored.duplicate ?? 0
    for (const relay of [utility.id, building.id, generateKeyPair().id]) {
      counts.tried++
      expect(await validate(peerIdOfParty(relay), message(canonical), market)).toBe(TopicValidatorResult.Ignore)
    }
    expect(stats.ignored.duplicate).toBe(duplicates + 3)
    // An admitted party's old, expired request replayed by a peer of no party: Ignored.
    const old = signRecord('grid.request', goodRequest(utility, 'c'.repeat(32), node.clock.now() - 3 * 3_600_000), utility).record
    const expired = stats.ignored.expired ?? 0
    counts.tried++
    expect(await validate(peerIdOfParty(generateKeyPair().id), message(encodeRecord(old)), market)).toBe(TopicValidatorResult.Ignore)
    expect(stats.ignored.expired).toBe(expired + 1)
    // One of the node's own logged requests, replayed to it: Ignored.
    const own = await ownRequest(300_000)
    counts.tried++
    expect(await validate(peerIdOfParty(generateKeyPair().id), message(encodeRecord(own.record)), market)).toBe(TopicValidatorResult.Ignore)
  })
})
