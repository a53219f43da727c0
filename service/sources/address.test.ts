import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AddressPolicy, addressClasses, addressRefusal, hostLiteral } from './address.ts';

// [address, most sensitive class or 'public']
const TABLE: ReadonlyArray<readonly [string, string]> = [
  // loopback and unspecified
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['0.0.0.0', 'loopback'],
  ['0.1.2.3', 'loopback'],
  ['::1', 'loopback'],
  ['::', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::127.0.0.1', 'loopback'],
  ['::ffff:0:127.0.0.1', 'loopback'],
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['2002:7f00:1::', 'loopback'],
  ['::ffff:0.0.0.0', 'loopback'],
  // link-local, cloud metadata
  ['169.254.169.254', 'linkLocal'],
  ['169.254.0.1', 'linkLocal'],
  ['224.0.0.1', 'linkLocal'],
  ['fe80::1', 'linkLocal'],
  ['fe80::1%eth0', 'linkLocal'],
  ['febf::1', 'linkLocal'],
  ['ff02::1', 'linkLocal'],
  ['::ffff:169.254.169.254', 'linkLocal'],
  ['fd00:ec2::254', 'private'],
  // private
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'private'],
  ['100.127.255.255', 'private'],
  ['fc00::1', 'private'],
  ['fd12:3456::1', 'private'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:192.168.0.1', 'private'],
  ['64:ff9b:1:a00:1::', 'private'], // NAT64 local-use /48 embedding 10.0.0.1
  ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'private'], // Teredo, client 10.0.0.1 inverted
  ['2001:db8::5efe:a00:1', 'private'], // ISATAP 10.0.0.1
  ['2001:db8::200:5efe:c0a8:101', 'private'], // ISATAP 192.168.1.1
  // public neighbours of the ranges
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['100.63.255.255', 'public'],
  ['100.128.0.0', 'public'],
  ['172.15.255.255', 'public'],
  ['172.32.0.0', 'public'],
  ['169.253.255.255', 'public'],
  ['11.0.0.1', 'public'],
  ['128.0.0.1', 'public'],
  ['2001:4860:4860::8888', 'public'],
  ['::ffff:8.8.8.8', 'public'],
  ['2002:808:808::', 'public'],
  ['fec0::1', 'private'],
];

describe('source address classification', () => {
  for (const [ip, expected] of TABLE) {
    test(`${ip} is ${expected}`, () => {
      const classes = addressClasses(ip);
      assert.ok(classes !== undefined, `${ip} should parse`);
      assert.equal(classes[0] ?? 'public', expected);
    });
  }

  test('a unique-local address that embeds loopback counts as both', () => {
    assert.deepEqual(addressClasses('fd00::5efe:7f00:1'), ['loopback', 'private']);
  });

  test('non-canonical spellings are not addresses (the URL parser canonicalises them first)', () => {
    for (const s of ['2130706433', '0177.0.0.1', '0x7f.1', '127.1', 'localhost', '', '1.2.3.4.5']) {
      assert.equal(addressClasses(s), undefined, s);
    }
  });
});

describe('source address policy', () => {
  const strict: AddressPolicy = { allowLoopback: false, allowLinkLocal: false, allowPrivate: false };
  const imgproxyDefault: AddressPolicy = { allowLoopback: false, allowLinkLocal: false, allowPrivate: true };
  const open: AddressPolicy = { allowLoopback: true, allowLinkLocal: true, allowPrivate: true };

  test('the default refuses loopback and link-local, allows private and public', () => {
    assert.match(
      addressRefusal('127.0.0.1', imgproxyDefault) ?? '',
      /IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES/,
    );
    assert.match(addressRefusal('::', imgproxyDefault) ?? '', /Loopback/);
    assert.match(
      addressRefusal('169.254.169.254', imgproxyDefault) ?? '',
      /IMGPROXY_ALLOW_LINK_LOCAL_SOURCE_ADDRESSES/,
    );
    assert.equal(addressRefusal('10.0.0.1', imgproxyDefault), undefined);
    assert.equal(addressRefusal('8.8.8.8', imgproxyDefault), undefined);
  });

  test('private addresses are refused when IMGPROXY_ALLOW_PRIVATE_SOURCE_ADDRESSES is false', () => {
    for (const ip of ['10.0.0.1', '100.64.0.1', 'fd00::1', '::ffff:172.16.0.1']) {
      assert.match(addressRefusal(ip, strict) ?? '', /IMGPROXY_ALLOW_PRIVATE_SOURCE_ADDRESSES/, ip);
    }
    assert.equal(addressRefusal('8.8.8.8', strict), undefined);
  });

  test('an address in two classes needs both allowed', () => {
    const loopbackOnly: AddressPolicy = { allowLoopback: true, allowLinkLocal: false, allowPrivate: false };
    assert.match(addressRefusal('fd00::5efe:7f00:1', loopbackOnly) ?? '', /Private/);
    assert.equal(addressRefusal('fd00::5efe:7f00:1', open), undefined);
  });

  test('anything that is not a canonical address is refused', () => {
    assert.match(addressRefusal('localhost', open) ?? '', /Invalid source address/);
  });
});

describe('IP literals in source URLs', () => {
  // [URL, the literal Node would connect to, or undefined for a name that goes through DNS]
  const CASES: ReadonlyArray<readonly [string, string | undefined]> = [
    ['http://127.0.0.1/', '127.0.0.1'],
    ['http://2130706433/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://0x7f.0.0.1/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://[::1]:8080/', '::1'],
    ['http://[::]/', '::'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe'],
    ['http://0xa9.0376.43518/', '169.254.169.254'],
    ['http://example.com@127.0.0.1/', '127.0.0.1'],
    ['http://localhost/', undefined],
    ['http://example.com/', undefined],
  ];
  for (const [raw, literal] of CASES) {
    test(`${raw} connects to ${literal ?? 'a resolved name'}`, () => {
      const url = new URL(raw);
      assert.equal(hostLiteral(url), literal);
      if (literal !== undefined) {
        const refusal = addressRefusal(literal, {
          allowLoopback: false,
          allowLinkLocal: false,
          allowPrivate: true,
        });
        assert.ok(refusal !== undefined, `${raw} must be refused by default`);
      }
    });
  }
});
