/**
 * The signing Secret check (a pure policy): the Secret named by spec.signing.secretRef must
 * exist and hold hex `key` and `salt`, comma-separated lists of the same length when rotating.
 * A problem becomes a Degraded condition with a message naming the Secret and the key, not a
 * crash: the Secret watch brings the reconcile back when it is fixed.
 */
import { createHash } from 'node:crypto';
import type { ImageProxy } from '../api/v1alpha1.ts';

export interface SecretLike {
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
}

export type SigningCheck =
  | { ok: true; checksum?: string }
  | { ok: false; reason: 'SigningSecretMissing' | 'SigningSecretInvalid'; message: string };

const HEX = /^([0-9a-fA-F]{2})+$/;

/** The secret name the ImageProxy signs with, or undefined for signing.insecure. */
export const signingSecretName = (ip: ImageProxy): string | undefined => ip.spec.signing.secretRef?.name;

export function checkSigningSecret(ip: ImageProxy, secret: SecretLike | undefined): SigningCheck {
  const name = signingSecretName(ip);
  if (name === undefined) return { ok: true };
  const ref = `${ip.metadata.namespace}/${name}`;
  if (secret === undefined) {
    return {
      ok: false,
      reason: 'SigningSecretMissing',
      message: `Secret ${ref} does not exist: create it with hex-encoded 'key' and 'salt'`,
    };
  }
  const values: Record<'key' | 'salt', string[]> = { key: [], salt: [] };
  for (const field of ['key', 'salt'] as const) {
    const encoded = secret.data?.[field];
    if (encoded === undefined) {
      return { ok: false, reason: 'SigningSecretInvalid', message: `Secret ${ref} has no key '${field}'` };
    }
    const list = Buffer.from(encoded, 'base64')
      .toString('utf8')
      .split(',')
      .map((s) => s.trim());
    const bad = list.findIndex((v) => !HEX.test(v));
    if (bad >= 0) {
      const which = list.length > 1 ? ` (entry ${bad + 1} of ${list.length})` : '';
      return {
        ok: false,
        reason: 'SigningSecretInvalid',
        message: `Secret ${ref} key '${field}'${which} is not hex-encoded (expected e.g. the output of 'openssl rand -hex 32')`,
      };
    }
    values[field] = list;
  }
  if (values.key.length !== values.salt.length) {
    return {
      ok: false,
      reason: 'SigningSecretInvalid',
      message: `Secret ${ref} has ${values.key.length} keys but ${values.salt.length} salts: rotation needs pairs`,
    };
  }
  // A digest, never the values: it lands in a pod annotation so a rotation rolls the pods.
  const checksum = createHash('sha256')
    .update(`${values.key.join(',')}\n${values.salt.join(',')}`)
    .digest('hex');
  return { ok: true, checksum };
}
