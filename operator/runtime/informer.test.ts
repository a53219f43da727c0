// Informer stop() against a stand-in API server that holds a watch's response headers: a stop
// while the watch connects must still end that watch (client-node's ListWatch alone leaves it
// open), and a stopped informer never starts again.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { eventually } from '../../test/helpers/eventually.ts';
import { KubeClient } from './client.ts';
import { Informer } from './informer.ts';
import { silentLogger } from './log.ts';
import { emptyList, type StandInApiServer, standInApiServer } from './testing.ts';

describe('Informer: stop', () => {
  let api: StandInApiServer;
  let client: KubeClient;
  /** Watches whose headers are not sent yet; and watches whose connection is still open. */
  const connecting: ServerResponse[] = [];
  const open = new Set<ServerResponse>();

  before(async () => {
    api = await standInApiServer((req, res) => {
      if (!req.url?.includes('watch=true')) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(emptyList());
        return;
      }
      open.add(res);
      res.on('close', () => open.delete(res));
      connecting.push(res);
    });
    client = new KubeClient(api.kubeConfig);
  });

  beforeEach(() => {
    api.requests.length = 0;
  });

  after(async () => {
    client.close();
    await api.close();
  });

  const informer = () =>
    new Informer({
      client,
      type: { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' },
      log: silentLogger,
    });

  it('ends a watch that connects after stop()', async () => {
    const inf = informer();
    await inf.start(); // listed
    await eventually('the watch request', () => connecting.length === 1 || undefined, 10_000, 5);
    await inf.stop();
    // The API server answers the watch only now: the client must hang up.
    connecting.pop()?.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
    await eventually('the watch to be closed by the client', () => open.size === 0 || undefined, 10_000, 5);
  });

  it('a stopped informer does not start again', async () => {
    const inf = informer();
    await inf.stop();
    await inf.start(); // resolves at once
    assert.deepEqual(api.requests, []);
    assert.equal(inf.synced, false);
  });
});
