import { createPrivateKey, X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { generate } from 'selfsigned'
import type { Clock } from '../clock.js'
import { invalid, missing } from './errors.js'
import type { TlsMaterial } from './context.js'

/** `<dataDir>/tls/{key,cert,ca}.pem`: the Webapp's certificate, replaceable via the API. */
export function tlsPaths(dataDir: string): { dir: string; key: string; cert: string; ca: string } {
  const dir = path.join(dataDir, 'tls')
  return { dir, key: path.join(dir, 'key.pem'), cert: path.join(dir, 'cert.pem'), ca: path.join(dir, 'ca.pem') }
}

function writeAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, data, { mode })
  fs.renameSync(tmp, file)
}

export function readTls(dataDir: string): TlsMaterial | undefined {
  const p = tlsPaths(dataDir)
  try {
    return { key: fs.readFileSync(p.key, 'utf8'), cert: fs.readFileSync(p.cert, 'utf8') }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** The CA certificate clients should trust (PEM), if any. */
export function readCa(dataDir: string): string | undefined {
  try {
    return fs.readFileSync(tlsPaths(dataDir).ca, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export function saveTls(dataDir: string, material: TlsMaterial & { ca: string }): void {
  const p = tlsPaths(dataDir)
  fs.mkdirSync(p.dir, { recursive: true, mode: 0o700 })
  writeAtomic(p.key, material.key, 0o600)
  writeAtomic(p.cert, material.cert, 0o644)
  writeAtomic(p.ca, material.ca, 0o644)
}

/**
 * The stored certificate, or a self-signed one generated on first start (valid 825 days, for
 * localhost, 127.0.0.1, ::1, the host name and `hostnames`).
 */
export async function ensureTls(dataDir: string, clock: Clock, hostnames: string[] = []): Promise<TlsMaterial> {
  const existing = readTls(dataDir)
  if (existing) return existing
  const notBefore = new Date(clock.now() - 60_000)
  const notAfter = new Date(clock.now() + 825 * 24 * 3600 * 1000)
  const names = [...new Set(['localhost', os.hostname(), ...hostnames])].filter((n) => n && !/^[\d.:]+$/.test(n))
  const ips = [...new Set(['127.0.0.1', '::1', ...hostnames.filter((n) => /^[\d.:]+$/.test(n) && n !== '0.0.0.0' && n !== '::')])]
  const pems = await generate([{ name: 'commonName', value: 'wabox' }, { name: 'organizationName', value: 'wabox self-signed' }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate: notBefore, notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.map((value) => ({ type: 2 as const, value })), ...ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  })
  const material = { key: pems.private, cert: pems.cert, ca: pems.cert }
  saveTls(dataDir, material)
  return { key: material.key, cert: material.cert }
}

// a block's body holds no run of five dashes, so a scan from an unterminated BEGIN stops at the
// next marker: linear, where `[\s\S]+?` rescans the rest of the body from every BEGIN
export const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----(?:[^-]|-(?!----))+?-----END \1-----/g

/**
 * Parses the body of `POST /v1/certificates/external`: a private key, the certificate and its
 * chain, in that order. The CA served by `/v1/certificates/external/ca` is the chain's last one.
 */
export function parseCertificateBundle(pem: string, clock: Clock): TlsMaterial & { ca: string } {
  const blocks = [...pem.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1] ?? '', text: m[0] }))
  const key = blocks.find((b) => b.label.endsWith('PRIVATE KEY'))
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE')
  if (!key) throw missing('body', 'the PEM bundle must start with the private key')
  if (certs.length === 0) throw missing('body', 'the PEM bundle must contain the certificate after the private key')
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(certs[0]?.text ?? '')
    if (!leaf.checkPrivateKey(createPrivateKey(key.text))) throw invalid('body', 'the private key does not belong to the first certificate')
  } catch (err) {
    if (err instanceof Error && err.name === 'WaboxError') throw err
    throw invalid('body', 'the private key or the certificate cannot be parsed')
  }
  if (Date.parse(leaf.validTo) <= clock.now()) throw invalid('body', `the certificate expired on ${leaf.validTo}`)
  const chain = certs.map((c) => c.text).join('\n') + '\n'
  return { key: key.text + '\n', cert: chain, ca: (certs[certs.length - 1]?.text ?? '') + '\n' }
}
