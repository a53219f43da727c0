import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageProxy } from '../builders/testing.ts';
import { checkSigningSecret, type SecretLike } from './signing.ts';

const ip = imageProxy({ signing: { secretRef: { name: 'images-signing' } } });
const secret = (data: Record<string, string>): SecretLike => ({
  metadata: { name: 'images-signing', namespace: 'web' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
const HEX = 'ab'.repeat(32);

test('signing.insecure needs no Secret and has no checksum', () => {
  assert.deepEqual(checkSigningSecret(imageProxy({ signing: { insecure: true } }), undefined), { ok: true });
});

test('Secret problems name the Secret and the key, with a CamelCase reason', () => {
  const cases: Array<{ name: string; secret: SecretLike | undefined; reason: string; message: RegExp }> = [
    {
      name: 'missing Secret',
      secret: undefined,
      reason: 'SigningSecretMissing',
      message: /^Secret web\/images-signing does not exist/,
    },
    {
      name: 'no salt',
      secret: secret({ key: HEX }),
      reason: 'SigningSecretInvalid',
      message: /^Secret web\/images-signing has no key 'salt'$/,
    },
    {
      name: 'no key',
      secret: secret({ salt: HEX }),
      reason: 'SigningSecretInvalid',
      message: /has no key 'key'$/,
    },
    {
      name: 'not hex',
      secret: secret({ key: 'not-hex', salt: HEX }),
      reason: 'SigningSecretInvalid',
      message: /key 'key' is not hex-encoded/,
    },
    {
      name: 'bad rotation entry',
      secret: secret({ key: `${HEX},zz`, salt: `${HEX},${HEX}` }),
      reason: 'SigningSecretInvalid',
      message: /key 'key' \(entry 2 of 2\) is not hex-encoded/,
    },
    {
      name: 'unpaired rotation',
      secret: secret({ key: `${HEX},${HEX}`, salt: HEX }),
      reason: 'SigningSecretInvalid',
      message: /has 2 keys but 1 salts/,
    },
  ];
  for (const c of cases) {
    const result = checkSigningSecret(ip, c.secret);
    assert.equal(result.ok, false, c.name);
    if (result.ok) continue;
    assert.equal(result.reason, c.reason, c.name);
    assert.match(result.message, c.message, c.name);
  }
});

test('a valid Secret gives a checksum that changes with either value and never contains them', () => {
  const a = checkSigningSecret(ip, secret({ key: HEX, salt: HEX }));
  const b = checkSigningSecret(ip, secret({ key: HEX, salt: 'cd'.repeat(32) }));
  const rotated = checkSigningSecret(ip, secret({ key: `${HEX}, ${HEX}`, salt: `${HEX},${HEX}` }));
  assert.ok(a.ok && b.ok && rotated.ok);
  assert.match(a.checksum ?? '', /^[0-9a-f]{64}$/);
  assert.notEqual(a.checksum, b.checksum);
  assert.notEqual(a.checksum, rotated.checksum);
  assert.ok(!a.checksum?.includes(HEX));
  assert.equal(
    checkSigningSecret(ip, secret({ key: HEX, salt: HEX })).ok && a.checksum,
    a.checksum,
    'stable',
  );
});
