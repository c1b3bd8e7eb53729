// A CA of the simulator's own and a server certificate it signs, made at start: real TLS, so the
// action's ca-certificate path is exercised. ECDSA P-256 through WebCrypto: milliseconds, not seconds.
import { webcrypto } from 'node:crypto'
import 'reflect-metadata' // @peculiar/x509 needs it (its dependency injection)
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY = 24 * 3600 * 1000

export interface CertificateAuthority {
  certPem: string
  keys: webcrypto.CryptoKeyPair
  name: string
}

export interface ServerCertificate {
  certPem: string
  keyPem: string
  /** The CA certificate a client must trust. */
  caPem: string
}

export async function createCertificateAuthority(commonName = 'octoplant simulator test CA'): Promise<CertificateAuthority> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const name = `CN=${commonName}`
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  return { certPem: cert.toString('pem'), keys, name }
}

export interface IssueOptions {
  /** DNS names and IP addresses the certificate is valid for. */
  hosts?: string[]
  notBefore?: Date
  notAfter?: Date
}

export async function issueServerCertificate(ca: CertificateAuthority, o: IssueOptions = {}): Promise<ServerCertificate> {
  const hosts = o.hosts ?? ['localhost', '127.0.0.1', '::1']
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${hosts[0]}`,
    issuer: ca.name,
    notBefore: o.notBefore ?? new Date(Date.now() - DAY),
    notAfter: o.notAfter ?? new Date(Date.now() + 30 * DAY),
    signingKey: ca.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      subjectAltNames(hosts),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey)
    ]
  })
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)
  return { certPem: cert.toString('pem'), keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), caPem: ca.certPem }
}

/** A self-signed server certificate, as octoplant makes by default: its own issuer, no CA. */
export async function selfSignedServerCertificate(hosts = ['localhost', '127.0.0.1', '::1']): Promise<ServerCertificate> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${hosts[0]}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      subjectAltNames(hosts)
    ]
  })
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)
  const certPem = cert.toString('pem')
  return { certPem, keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), caPem: certPem }
}

function subjectAltNames(hosts: string[]): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(
    hosts.map(h => (/^[\d.]+$|:/.test(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }))
  )
}

function randomSerial(): string {
  return '01' + Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex')
}
