/**
 * The simulator's webhook signing identity: an RSA key pair and a self-signed X.509 certificate for it, made with
 * node:crypto alone. Node can parse certificates (`X509Certificate`) but not issue them, so the certificate is
 * assembled here as DER (RFC 5280: version 3, sha256WithRSAEncryption, one CN, a validity window) and signed with the
 * key; `openssl` is not needed. Keys are made once per process and shared by every simulator instance: a 2048-bit
 * RSA key costs tens of milliseconds.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

export interface SigningIdentity {
  privateKey: KeyObject;
  /** PEM of the self-signed certificate that carries the public key. */
  certificatePem: string;
}

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const COMMON_NAME = '2.5.4.3';
const ORGANIZATION = '2.5.4.10';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, content: Buffer): Buffer =>
  Buffer.concat([Buffer.from([tag]), length(content.length), content]);
const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);

function integer(bytes: Buffer): Buffer {
  const trimmed = bytes.subarray(bytes.findIndex((b, i) => b !== 0 || i === bytes.length - 1));
  return tlv(0x02, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a! + b!];
  for (const n of rest) {
    const chunk: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      chunk.unshift((v % 128) | (chunk.length ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

function name(cn: string): Buffer {
  return sequence(
    set(sequence(oid(ORGANIZATION), utf8('Clearhub PayPal simulator'))),
    set(sequence(oid(COMMON_NAME), utf8(cn))),
  );
}

/** A self-signed certificate for `privateKey`, valid from an hour ago for `days` days. */
export function selfSignedCertificate(privateKey: KeyObject, cn: string, days = 30): string {
  const publicKeyDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const algorithm = sequence(oid(SHA256_WITH_RSA), nullValue());
  const now = Date.now();
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))), // [0] EXPLICIT version v3
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    algorithm,
    name(cn),
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + days * 86_400_000))),
    name(cn),
    publicKeyDer,
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

const identities = new Map<string, SigningIdentity>();

/**
 * The process-wide signing identity called `label` (the simulator's own is `simulator`; tests make forgeries with
 * another label). Same label, same key and certificate.
 */
export function signingIdentity(label = 'simulator'): SigningIdentity {
  let id = identities.get(label);
  if (!id) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    id = {
      privateKey,
      certificatePem: selfSignedCertificate(privateKey, `messageverificationcerts.${label}.clearhub.test`),
    };
    identities.set(label, id);
  }
  return id;
}
