import { hash } from 'node:crypto'

export function toBase64url (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

export function fromBase64url (text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64url'))
}

export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function fromHex (text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'))
}

/** SHA-256 as hex (a string is hashed as its UTF-8). Straight to hex: half the cost of a digest Buffer. */
export function sha256Hex (data: Uint8Array | string): string {
  return hash('sha256', data, 'hex')
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}
