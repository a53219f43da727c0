import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SigningPair, sign, verifySignature } from './signature.ts';

const docsPair: SigningPair = {
  key: Buffer.from('736563726574', 'hex'),
  salt: Buffer.from('68656C6C6F', 'hex'),
};
const docsPath = '/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png';
const docsSignature = 'oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8';

describe('signature', () => {
  it("reproduces imgproxy's documented example", () => {
    assert.equal(sign(docsPath, docsPair), docsSignature);
  });

  it('accepts the documented signature', () => {
    assert.doesNotThrow(() => verifySignature(docsSignature, docsPath, { pairs: [docsPair], size: 32 }));
  });

  it('truncates the digest to IMGPROXY_SIGNATURE_SIZE bytes before encoding', () => {
    const short = sign(docsPath, docsPair, 8);
    assert.equal(Buffer.from(short, 'base64url').length, 8);
    assert.equal(short, Buffer.from(docsSignature, 'base64url').subarray(0, 8).toString('base64url'));
    assert.doesNotThrow(() => verifySignature(short, docsPath, { pairs: [docsPair], size: 8 }));
    assert.throws(() => verifySignature(docsSignature, docsPath, { pairs: [docsPair], size: 8 }), {
      status: 403,
    });
  });

  it('accepts a signature made with any of several key/salt pairs (rotation)', () => {
    const old: SigningPair = { key: Buffer.from('aa', 'hex'), salt: Buffer.from('bb', 'hex') };
    const cfg = { pairs: [docsPair, old], size: 32 };
    assert.doesNotThrow(() => verifySignature(sign(docsPath, old), docsPath, cfg));
    assert.doesNotThrow(() => verifySignature(sign(docsPath, docsPair), docsPath, cfg));
  });

  const tampered: Array<[string, string, string]> = [
    ['a changed option', docsSignature, docsPath.replace('300', '301')],
    ['a changed source', docsSignature, docsPath.replace('anBn', 'anBo')],
    ['a changed extension', docsSignature, docsPath.replace('.png', '.webp')],
    ['a flipped signature character', `b${docsSignature.slice(1)}`, docsPath],
    ['a signature that is not base64url', 'not/base64!', docsPath],
    ['an empty signature', '', docsPath],
    ['the insecure placeholder', 'insecure', docsPath],
    ['the right signature with = padding', `${docsSignature}=`, docsPath],
  ];
  for (const [name, sig, path] of tampered) {
    it(`refuses ${name} with 403`, () => {
      assert.throws(() => verifySignature(sig, path, { pairs: [docsPair], size: 32 }), {
        status: 403,
        publicMessage: 'Forbidden',
      });
    });
  }

  it('accepts any signature segment when no key is configured', () => {
    assert.doesNotThrow(() => verifySignature('insecure', docsPath, { pairs: [], size: 32 }));
    assert.doesNotThrow(() => verifySignature('_', docsPath, { pairs: [], size: 32 }));
  });
});
