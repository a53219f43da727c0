// Controller start-up and stop against a stand-in API server: a stop that arrives while the
// controller is still starting (a leader told to stop right after it won the Lease) must leave
// nothing running. Before the fix, start() went on to list and watch after stop(), and the open
// watches kept the operator process alive past its 25 s shutdown deadline (exit 1).
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { eventually } from '../../test/helpers/eventually.ts';
import { KubeClient } from '../runtime/client.ts';
import { EventRecorder } from '../runtime/events.ts';
import { silentLogger } from '../runtime/log.ts';
import { emptyList, type StandInApiServer, standInApiServer } from '../runtime/testing.ts';
import { Controller } from './controller.ts';

/** Discovery of the optional monitoring kinds: the first thing start() asks. */
const isDiscovery = (url: string) => url.startsWith('/apis/monitoring.coreos.com/');

describe('Controller: stop', () => {
  let api: StandInApiServer;
  let client: KubeClient;
  /** While true, discovery requests wait in `held` until the test answers them. */
  let holdDiscovery = false;
  const held: Array<() => void> = [];
  const openWatches = new Set<ServerResponse>();

  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (isDiscovery(url)) {
      // The monitoring CRDs are not installed.
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"kind":"Status","code":404}');
    } else if (url.includes('watch=true')) {
      openWatches.add(res);
      res.on('close', () => openWatches.delete(res));
      res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(emptyList());
    }
  };

  before(async () => {
    api = await standInApiServer((req, res) => {
      if (holdDiscovery && isDiscovery(req.url ?? '')) held.push(() => answer(req, res));
      else answer(req, res);
    });
    client = new KubeClient(api.kubeConfig);
  });

  beforeEach(() => {
    api.requests.length = 0;
    holdDiscovery = false;
  });

  after(async () => {
    client.close();
    await api.close();
  });

  const controller = () =>
    new Controller({
      client,
      resyncPeriodMs: 0,
      events: new EventRecorder({
        client,
        controller: 'tinycdn.dev/test',
        instance: 'test',
        log: silentLogger,
      }),
      log: silentLogger,
    });

  it('lists and watches nothing when stop() comes during discovery', async () => {
    holdDiscovery = true;
    const c = controller();
    const started = c.start();
    await eventually('the discovery request', () => held.length > 0 || undefined, 10_000, 5);
    await c.stop();
    for (const release of held.splice(0)) release();
    // Had start() gone on, it would have resolved only once its informers had listed.
    await started;
    assert.deepEqual(
      api.requests.filter((r) => !isDiscovery(r.slice(r.indexOf(' ') + 1))),
      [],
      'no list or watch after stop()',
    );
    assert.equal(openWatches.size, 0, 'no watch open');
  });

  it('a started controller ends all its watches on stop()', async () => {
    const c = controller();
    await c.start();
    await eventually('a watch', () => openWatches.size > 0 || undefined, 10_000, 5);
    await c.stop();
    await eventually(
      'every watch to be closed by the client',
      () => openWatches.size === 0 || undefined,
      10_000,
      5,
    );
  });
});
