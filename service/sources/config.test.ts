import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { configProblems } from '../../test/helpers/config-problems.ts';
import { defaultSourcesConfig, loadSourcesConfig, sourcesConfigWarnings, VERSION } from './config.ts';
import { defaultStoresConfig } from './stores-config.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tinycdn-sources-config-'));
const file = path.join(dir, 'file.txt');
writeFileSync(file, 'x');
after(() => rmSync(dir, { recursive: true, force: true }));

const problemsOf = (env: Record<string, string>): string[] => configProblems(loadSourcesConfig, env);

describe('sources config', () => {
  test('defaults match imgproxy with a tinycdn user agent', () => {
    const cfg = loadSourcesConfig({});
    assert.deepEqual(cfg, defaultSourcesConfig());
    assert.equal(cfg.localFilesystemRoot, '');
    assert.deepEqual(cfg.allowedSources, []);
    assert.equal(cfg.downloadTimeout, 5);
    assert.equal(cfg.maxSrcFileSize, 0);
    assert.equal(cfg.maxRedirects, 10);
    assert.equal(cfg.userAgent, `tinycdn/${VERSION}`);
    assert.match(VERSION, /^\d+\.\d+\.\d+/);
    assert.equal(cfg.allowLoopbackSourceAddresses, false);
    assert.equal(cfg.allowLinkLocalSourceAddresses, false);
    assert.equal(cfg.allowPrivateSourceAddresses, true);
    assert.equal(cfg.ignoreSslVerification, false);
  });

  test('an empty IMGPROXY_SOURCE_URL_QUERY_SEPARATOR keeps the query in the path (imgproxy: no split)', () => {
    assert.equal(loadSourcesConfig({ IMGPROXY_SOURCE_URL_QUERY_SEPARATOR: '' }).sourceUrlQuerySeparator, '');
    assert.equal(loadSourcesConfig({}).sourceUrlQuerySeparator, '?');
  });

  test('every variable is read', () => {
    const cfg = loadSourcesConfig({
      IMGPROXY_LOCAL_FILESYSTEM_ROOT: dir,
      IMGPROXY_ALLOWED_SOURCES: 'https://a.example/, local://',
      IMGPROXY_BASE_URL: 'https://a.example/images/',
      IMGPROXY_DOWNLOAD_TIMEOUT: '2.5',
      IMGPROXY_MAX_SRC_FILE_SIZE: '1048576',
      IMGPROXY_MAX_REDIRECTS: '0',
      IMGPROXY_USER_AGENT: 'probe/1',
      IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES: 'true',
      IMGPROXY_ALLOW_LINK_LOCAL_SOURCE_ADDRESSES: '1',
      IMGPROXY_ALLOW_PRIVATE_SOURCE_ADDRESSES: 'false',
      IMGPROXY_IGNORE_SSL_VERIFICATION: 'yes',
      IMGPROXY_SOURCE_URL_QUERY_SEPARATOR: '|',
      IMGPROXY_USE_S3: 'true',
      IMGPROXY_USE_GCS: 'true',
      IMGPROXY_USE_ABS: 'true',
      IMGPROXY_ABS_NAME: 'acct',
    });
    assert.deepEqual(cfg, {
      localFilesystemRoot: dir,
      sourceUrlQuerySeparator: '|',
      allowedSources: ['https://a.example/', 'local://'],
      baseUrl: 'https://a.example/images/',
      downloadTimeout: 2.5,
      maxSrcFileSize: 1048576,
      maxRedirects: 0,
      userAgent: 'probe/1',
      allowLoopbackSourceAddresses: true,
      allowLinkLocalSourceAddresses: true,
      allowPrivateSourceAddresses: false,
      ignoreSslVerification: true,
      stores: {
        ...defaultStoresConfig(),
        s3: { ...defaultStoresConfig().s3, enabled: true },
        gcs: { ...defaultStoresConfig().gcs, enabled: true },
        abs: { ...defaultStoresConfig().abs, enabled: true, accountName: 'acct' },
      },
    });
  });

  test('a local root that does not exist is an error naming IMGPROXY_LOCAL_FILESYSTEM_ROOT', () => {
    const problems = problemsOf({ IMGPROXY_LOCAL_FILESYSTEM_ROOT: path.join(dir, 'missing') });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^IMGPROXY_LOCAL_FILESYSTEM_ROOT: .*does not exist/);
  });

  test('a local root that is a file is an error naming IMGPROXY_LOCAL_FILESYSTEM_ROOT', () => {
    const problems = problemsOf({ IMGPROXY_LOCAL_FILESYSTEM_ROOT: file });
    assert.match(problems[0]!, /^IMGPROXY_LOCAL_FILESYSTEM_ROOT: .*not a directory/);
  });

  test('an allowed source without a slash after the host is an error naming IMGPROXY_ALLOWED_SOURCES', () => {
    const problems = problemsOf({ IMGPROXY_ALLOWED_SOURCES: 'https://ok.example/,http://example.com' });
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!,
      /^IMGPROXY_ALLOWED_SOURCES: "http:\/\/example\.com" has no "\/" after the host/,
    );
  });

  test('bad numbers and booleans are collected, each naming its variable', () => {
    const problems = problemsOf({
      IMGPROXY_DOWNLOAD_TIMEOUT: '0',
      IMGPROXY_MAX_SRC_FILE_SIZE: '-1',
      IMGPROXY_MAX_REDIRECTS: 'ten',
      IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES: 'maybe',
      IMGPROXY_BASE_URL: 'example.com/images/',
    });
    const names = problems.map((p) => p.split(':')[0]);
    assert.deepEqual(names.sort(), [
      'IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES',
      'IMGPROXY_BASE_URL',
      'IMGPROXY_DOWNLOAD_TIMEOUT',
      'IMGPROXY_MAX_REDIRECTS',
      'IMGPROXY_MAX_SRC_FILE_SIZE',
    ]);
  });

  test('warnings name the risky settings', () => {
    assert.deepEqual(sourcesConfigWarnings(defaultSourcesConfig()), []);
    const warnings = sourcesConfigWarnings({
      ...defaultSourcesConfig(),
      localFilesystemRoot: '/',
      ignoreSslVerification: true,
    });
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /IMGPROXY_LOCAL_FILESYSTEM_ROOT/);
    assert.match(warnings[1]!, /IMGPROXY_IGNORE_SSL_VERIFICATION/);
  });
});
