import { describe, it, expect } from 'vitest'
import { canonicalize } from '../src/records/canonical.js'
import { decodeRecord, encodeRecord, signRecord, countersign, verifyRecord, isFullySigned } from '../src/records/envelope.js'
import { RecordError } from '../src/records/errors.js'
import { generateKeyPair } from '../src/identity/keyfile.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { fromBase64url } from '../src/records/bytes.js'
import { sampleRequest, sampleSettlement, sampleReading } from './helpers/samples.js'

describe('RFC 8785 canonical JSON', () => {
  it('sorts keys by UTF-16 code units (RFC 8785 section 3.2.3 example)', () => {
    const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' }
    const order = Object.keys(JSON.parse(canonicalize(input)) as object)
    // Parsing reorders integer-like keys, so compare the serialized text instead.
    expect(order.length).toBe(7)
    expect(canonicalize(input)).toBe('{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}')
  })
  it('escapes strings as RFC 8785 section 3.2.2.2 requires', () => {
    expect(canonicalize({ string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/' })).toBe('{"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
  })
  it('serializes literals, arrays and nested objects without whitespace', () => {
    expect(canonicalize({ b: [1, true, null, { z: 0, a: -5 }], a: 'x' })).toBe('{"a":"x","b":[1,true,null,{"a":-5,"z":0}]}')
    expect(canonicalize(-0)).toBe('0')
  })
  it('refuses floats, NaN, infinities and unsafe integers: no floats on the wire', () => {
    for (const bad of [1.5, Number.NaN, Infinity, -Infinity, 2 ** 53]) {
      expect(() => canonicalize({ x: bad })).toThrowError(RecordError)
    }
  })
})

describe('signed envelopes', () => {
  const requester = generateKeyPair()
  const provider = generateKeyPair()
  const meter = generateKeyPair()

  it('signs and verifies, and the signature is plain Ed25519 (cross-checked with @noble/curves)', () => {
    const signed = signRecord('grid.request', sampleRequest(requester.id), requester)
    const back = decodeRecord(encodeRecord(signed.record))
    expect(back.id).toBe(signed.id)
    expect(back.id).toMatch(/^[0-9a-f]{64}$/)
    const sig = signed.record.sigs[0]!
    const unsigned = new TextEncoder().encode(canonicalize({ v: 1, type: 'grid.request', body: signed.record.body }))
    const msg = new Uint8Array([...new TextEncoder().encode('pairgrid/record/v1\0grid.request\0'), ...unsigned])
    expect(ed25519.verify(fromBase64url(sig.sig), msg, requester.publicKey)).toBe(true)
  })

  it('countersigning keeps the id and needs the named counterparty', () => {
    const settlement = signRecord('grid.settlement', sampleSettlement(provider.id, requester.id, meter.id), provider)
    expect(isFullySigned(settlement.record)).toBe(false)
    expect(() => countersign(settlement, meter)).toThrowError(/does not expect/)
    const both = countersign(settlement, requester)
    expect(both.id).toBe(settlement.id)
    expect(isFullySigned(both.record)).toBe(true)
    expect(verifyRecord(JSON.parse(JSON.stringify(both.record))).id).toBe(settlement.id)
  })

  it('rejects a record signed by someone other than the party it names', () => {
    const forged = signRecord('grid.request', sampleRequest(requester.id), provider)
    expect(() => verifyRecord(forged.record)).toThrowError(expect.objectContaining({ code: 'unexpected-signer' }))
  })

  it('rejects the same signature under another record type (domain separation)', () => {
    const body = sampleRequest(requester.id)
    const signed = signRecord('grid.request', body, requester)
    expect(() => verifyRecord({ ...signed.record, type: 'grid.commitment' })).toThrowError(RecordError)
  })

  it.each([
    ['request', () => signRecord('grid.request', sampleRequest(requester.id), requester).record],
    ['settlement', () => countersign(signRecord('grid.settlement', sampleSettlement(provider.id, requester.id, meter.id), provider), requester).record],
    ['meter reading', () => signRecord('meter.reading', sampleReading(meter.id, 7), meter).record]
  ])('any changed byte of a %s fails verification with a reason', (_name, make) => {
    const bytes = encodeRecord(make())
    let failures = 0
    for (let i = 0; i < bytes.length; i++) {
      for (const delta of [1, 0x20]) {
        const copy = bytes.slice()
        copy[i] = copy[i]! ^ delta
        try {
          decodeRecord(copy)
        } catch (err) {
          expect(err).toBeInstanceOf(RecordError)
          expect((err as RecordError).code).toMatch(/^[a-z-]+$/)
          failures++
          continue
        }
        throw new Error(`flipping byte ${i} (${String.fromCharCode(bytes[i]!)}) by ${delta} still verified`)
      }
    }
    expect(failures).toBe(bytes.length * 2)
  })

  it('refuses oversized, malformed, deep and float-carrying input with typed codes', () => {
    const codeOf = (bytes: Uint8Array): string => {
      try { decodeRecord(bytes); return 'accepted' } catch (err) { return (err as RecordError).code }
    }
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
    expect(codeOf(new Uint8Array(20_000))).toBe('oversized')
    expect(codeOf(enc('{"v":1,'))).toBe('malformed-json')
    expect(codeOf(enc('['.repeat(50) + ']'.repeat(50)))).toBe('too-deep')
    const signed = signRecord('grid.request', sampleRequest(requester.id), requester).record
    const floaty = JSON.stringify(signed).replace(/"toleranceBp":\d+/, '"toleranceBp":1.5')
    expect(codeOf(enc(floaty))).toBe('schema')
    const unknown = JSON.stringify({ ...signed, type: 'grid.bogus' })
    expect(codeOf(enc(unknown))).toBe('unknown-type')
    const noSig = JSON.stringify({ ...signed, sigs: [] })
    expect(codeOf(enc(noSig))).toBe('schema')
  })
})

describe('verified-signature cache', () => {
  it('a signature verified once vouches only for its own record, signer and bytes', () => {
    const keys = generateKeyPair()
    const other = generateKeyPair()
    const a = signRecord('meter.reading', sampleReading(keys.id, 1), keys)
    const b = signRecord('meter.reading', sampleReading(keys.id, 2), keys)
    expect(verifyRecord(a.record).id).toBe(a.id)
    expect(verifyRecord(a.record).id).toBe(a.id) // from the cache
    const code = (f: () => unknown): string | undefined => { try { f(); return undefined } catch (err) { return (err as RecordError).code } }
    // The same signature on another body, a's signature on b, a's signature claimed by another signer: all still checked.
    expect(code(() => verifyRecord({ ...a.record, body: { ...a.record.body, importWh: a.record.body.importWh + 1 } }))).toBe('bad-signature')
    expect(code(() => verifyRecord({ ...b.record, sigs: a.record.sigs }))).toBe('bad-signature')
    const reading = sampleReading(other.id, 1)
    expect(code(() => verifyRecord({ ...a.record, body: reading, sigs: [{ by: other.id, sig: a.record.sigs[0]!.sig }] }))).toBe('bad-signature')
  })

  it('fresh verification checks the signature again and gives the same answer', () => {
    const keys = generateKeyPair()
    const a = signRecord('meter.reading', sampleReading(keys.id, 3), keys)
    verifyRecord(a.record)
    expect(verifyRecord(a.record, undefined, { fresh: true })).toEqual(verifyRecord(a.record))
    expect(decodeRecord(encodeRecord(a.record), undefined, undefined, { fresh: true }).id).toBe(a.id)
  })

  it('verified records carry their canonical JSON, equal to canonicalize of the record', () => {
    const keys = generateKeyPair()
    const signed = signRecord('meter.reading', sampleReading(keys.id, 4), keys)
    expect(signed.canonical).toBe(canonicalize(signed.record))
    expect(verifyRecord(signed.record).canonical).toBe(canonicalize(signed.record))
    const req = generateKeyPair()
    const settlement = signRecord('grid.settlement', sampleSettlement(keys.id, req.id, keys.id), keys)
    const both = countersign(settlement, req)
    expect(both.canonical).toBe(canonicalize(both.record))
  })
})
