// Property-based fuzzing of the handlers behind the gossip topic and the commit stream, on a real
// node: validly signed records with one field wrong — a signer that is not the stream's peer,
// replays, expired or far-future dates, another marketplace, an unknown settlement method,
// inconsistent price terms, another meter or requester, quantities beyond the request. None is
// ever accepted; each gets a typed reason (an error code or a signed rejection).
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

  it('never accepts a request with one thing wrong or a publisher that is not its signer', async () => {
    const validate = (node.channel as unknown as { validate: (peer: unknown, msg: unknown, marketplace: string) => Promise<TopicValidatorResult> }).validate.bind(node.channel)
    let nonce = 200_000
    await fc.assert(fc.asyncProperty(requestFault, fc.boolean(), async (fault, foreignPublisher) => {
      const start = Math.ceil((node.clock.now() + 40 * 60_000) / 60_000) * 60_000
      const good: RequestBody = {
        marketplace: market, requester: building.id, service: 'demand-response', window: { start, end: start + 900_000 }, quantity: { value: 50_000, unit: 'W' },
        price: tariff, settlementMethod: 'pairgrid/dr-mbe/1', settlementIntervalMs: 900_000, toleranceBp: 1000,
        nonce: (nonce++).toString(16).padStart(32, '0'), issuedAt: node.clock.now(), expiresAt: start
      }
      // Signed by the marketplace's operator (admitted to request), one field wrong.
      const body = { ...fault({ ...good, requester: utility.id }) }
      const record = signRecord('grid.request', body, utility).record
      const from = peerIdOfParty(foreignPublisher ? generateKeyPair().id : utility.id)
      counts.tried++
      const verdict = await validate(from, { type: 'signed', from, topic: requestTopic(market), data: encodeRecord(record) }, market)
      if (verdict === TopicValidatorResult.Accept) counts.accepted++
      expect(verdict).not.toBe(TopicValidatorResult.Accept)
    }), { numRuns: 120 })
    // The control: the same request without a fault, from its signer, is accepted.
    const start = Math.ceil((node.clock.now() + 40 * 60_000) / 60_000) * 60_000
    const valid = signRecord('grid.request', {
      marketplace: market, requester: utility.id, service: 'demand-response', window: { start, end: start + 900_000 }, quantity: { value: 50_000, unit: 'W' },
      price: tariff, settlementMethod: 'pairgrid/dr-mbe/1', settlementIntervalMs: 900_000, toleranceBp: 1000,
      nonce: 'f'.repeat(32), issuedAt: node.clock.now(), expiresAt: start
    }, utility).record
    const from = peerIdOfParty(utility.id)
    expect(await validate(from, { type: 'signed', from, topic: requestTopic(market), data: encodeRecord(valid) }, market)).toBe(TopicValidatorResult.Accept)
  }, 120_000)
})
