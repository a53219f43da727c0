import { createHmac, timingSafeEqual } from 'node:crypto';
import { invalidSignature, signatureMissing } from './errors.ts';

/** One key/salt pair, already hex-decoded. Several pairs allow key rotation. */
export interface SigningPair {
  key: Buffer;
  salt: Buffer;
}

export interface SignatureConfig {
  /** Empty: signatures are not checked (imgproxy's "insecure" mode). */
  pairs: readonly SigningPair[];
  /** Bytes of the HMAC kept before encoding (IMGPROXY_SIGNATURE_SIZE, 1..32). */
  size: number;
  /** Signatures accepted as they are, whatever the path (IMGPROXY_TRUSTED_SIGNATURES). */
  trusted?: readonly string[];
}

/**
 * imgproxy's signature: base64url (no padding) of HMAC-SHA256 keyed by `key` over
 * `salt + path`, truncated to `size` bytes. `path` is everything after the signature segment,
 * with its leading slash, exactly as it appears in the request (still percent-encoded).
 */
export function sign(path: string, pair: SigningPair, size = 32): string {
  return digest(path, pair, size).toString('base64url');
}

function digest(path: string, pair: SigningPair, size: number): Buffer {
  const mac = createHmac('sha256', pair.key);
  mac.update(pair.salt);
  mac.update(path);
  return mac.digest().subarray(0, size);
}

/**
 * Throws a 403 unless `signature` is valid for `path` under one of the configured pairs.
 * Only unpadded base64url is valid (as imgproxy's RawURLEncoding): accepting `=` padding too
 * would give one image two valid URLs, and two cache entries.
 */
export function verifySignature(signature: string, path: string, cfg: SignatureConfig): void {
  if (cfg.pairs.length === 0) {
    // `/rs:fit:300:300/plain/...`: the signature segment was forgotten and an option took its place.
    if (signature.includes(':')) throw signatureMissing();
    return;
  }
  if (cfg.trusted?.includes(signature)) return;
  if (!/^[A-Za-z0-9_-]+$/.test(signature) || signature.length % 4 === 1)
    throw invalidSignature('not unpadded base64url');
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== cfg.size) throw invalidSignature(`expected ${cfg.size} bytes, got ${given.length}`);
  // Compare against every pair without stopping early, so timing does not reveal which pair
  // (or whether any) came close.
  let ok = false;
  for (const pair of cfg.pairs) {
    if (timingSafeEqual(given, digest(path, pair, cfg.size))) ok = true;
  }
  if (!ok) throw invalidSignature('mismatch');
}
