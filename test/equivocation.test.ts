// Equivocation: two conflicting signed records for the same transaction step are detected and
// reported — a provider's second, different commitment to one request, a requester's second,
// different answer, a provider's second, different settlement.
import { describe, it, expect } from 'vitest'
import { TransactionBook } from '../src/grid/book.js'
import { signRecord } from '../src/records/envelope.js'
import { generateKeyPair } from '../src/identity/keyfile.js'
import { sampleRequest, sampleSettlement } from './helpers/samples.js'
import type { CommitmentBody } from '../src/records/grid-schemas.js'

const requester = generateKeyPair()
const provider = generateKeyPair()
const meter = generateKeyPair()

describe('equivocation', () => {
  const request = signRecord('grid.request', sampleRequest(requester.id), requester)
  const r = request.record.body
  const commitmentBody = (elements: string[]): CommitmentBody => ({
    request: request.id, marketplace: r.marketplace, requester: r.requester, provider: provider.id, service: r.service, window: r.window,
    quantity: r.quantity, price: r.price, settlementMethod: r.settlementMethod, meter: meter.id, elements, issuedAt: r.issuedAt + 1000
  })

  it('is reported for every step, naming the party and both records', () => {
    const book = new TransactionBook()
    book.add(request)
    const first = signRecord('grid.commitment', commitmentBody(['battery']), provider)
    const second = signRecord('grid.commitment', commitmentBody(['battery', 'hvac']), provider)
    book.add(first)
    book.add(first)
    expect(book.equivocations).toEqual([])
    book.add(second)
    expect(book.equivocations).toEqual([{ step: 'commitment', party: provider.id, first: first.id, second: second.id }])
    expect(book.commitmentBy(request.id, provider.id)).toBe(first.id)

    const answer = { commitment: first.id, request: request.id, requester: requester.id, provider: provider.id }
    const accepted = signRecord('grid.acceptance', { ...answer, issuedAt: r.issuedAt + 2000 }, requester)
    const rejected = signRecord('grid.rejection', { ...answer, reason: 'filled', detail: '', issuedAt: r.issuedAt + 2001 }, requester)
    book.add(accepted)
    book.add(rejected)
    expect(book.equivocations[1]).toEqual({ step: 'answer', party: requester.id, first: accepted.id, second: rejected.id })
    // The first answer stands.
    expect(book.status(book.txs.get(first.id)!)).toBe('accepted')

    const s = { ...sampleSettlement(provider.id, requester.id, meter.id), commitment: first.id, acceptance: accepted.id, request: request.id }
    const settled = signRecord('grid.settlement', s, provider)
    const other = signRecord('grid.settlement', { ...s, executed: s.executed + 1 }, provider)
    book.add(settled)
    book.add(other)
    expect(book.equivocations[2]).toEqual({ step: 'settlement', party: provider.id, first: settled.id, second: other.id })
    expect(book.txs.get(first.id)!.settlement!.id).toBe(settled.id)
  })
})
