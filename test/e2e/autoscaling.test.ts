// Autoscaling on a real node: an ImageProxy with `autoscaling` gets the operator's
// HorizontalPodAutoscaler (the `tinycdn` container's CPU, ContainerResource), which reads the
// resource metrics API that metrics-server serves (test/e2e/addons.sh: an aggregated API, scraping
// the kubelet). A steady load of distinct URLs (every one a cache miss, so a transform) through
// the Service's ClusterIP scales the Deployment out; once the load stops it scales back in, after the
// HPA's scale-down stabilisation window. The replicas over time are printed, a line per change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../operator/helpers.ts';
import { addonsDown, addonsUp } from './addons.ts';
import {
  deployImageProxy,
  ensureOperator,
  freshNamespace,
  getObject,
  k,
  listObjects,
  type NodeCluster,
  nodeCluster,
  type Obj,
  SETUP_MS,
} from './cluster.ts';
import { describeLoad, type Load, type Origin, photoOrigin, steadyLoad } from './http.ts';

const NS = 'e2e-autoscaling';
const NAME = 'images';
const SELECTOR = `app.kubernetes.io/instance=${NAME}`;
const MIN = 1;
const MAX = 3;
const TARGET_CPU = 50;
/**
 * The scale-down stabilisation the test asks for (`autoscaling.scaleDownStabilizationSeconds`):
 * a minute rather than Kubernetes' default 5, so the test waits less; it checks the HPA carries it.
 */
const SCALE_DOWN_STABILISATION_S = 60;
/** The HPA controller's sync period (kube-controller-manager's default) and metrics-server's resolution. */
const HPA_SYNC_S = 15;
const METRICS_RESOLUTION_S = 15;
const CONCURRENCY = 4;

const imageProxy = (origin: Origin): Obj => ({
  apiVersion: 'tinycdn.dev/v1alpha1',
  kind: 'ImageProxy',
  metadata: { name: NAME, namespace: NS },
  spec: {
    signing: { insecure: true },
    sources: { allowedPrefixes: [origin.url], http: { allowPrivateAddresses: true } },
    // A small CPU request, so one pod's transforms are many times its target.
    resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
    autoscaling: {
      enabled: true,
      minReplicas: MIN,
      maxReplicas: MAX,
      targetCPUUtilizationPercentage: TARGET_CPU,
      scaleDownStabilizationSeconds: SCALE_DOWN_STABILISATION_S,
    },
  },
});

interface Sample {
  current: number;
  desired: number;
  cpu: string;
  ready: number;
  pods: number;
}

/**
 * Samples the HPA and the pods every 2 s and keeps a line per change, in seconds since `t0`
 * (the start of the load): the record the closing note reports, not a way to order events.
 */
class Recorder {
  readonly lines: string[] = [];
  private last = '';
  private stopped = false;
  private readonly done: Promise<void>;
  private readonly c: NodeCluster;
  t0 = Date.now();
  constructor(c: NodeCluster) {
    this.c = c;
    this.done = this.loop();
  }
  private async sample(): Promise<Sample> {
    const hpa = await getObject(this.c, 'hpa', NAME, NS);
    const pods = await listObjects(this.c, 'pods', NS, SELECTOR);
    const util = (hpa?.status?.currentMetrics as Obj[] | undefined)?.[0]?.containerResource?.current
      ?.averageUtilization;
    return {
      current: hpa?.status?.currentReplicas ?? 0,
      desired: hpa?.status?.desiredReplicas ?? 0,
      cpu: util === undefined ? '-' : `${util}%`,
      ready: pods.filter((p) => p.metadata.deletionTimestamp === undefined && ready(p)).length,
      pods: pods.length,
    };
  }
  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const s = await this.sample();
        const key = `${s.current}/${s.desired}/${s.ready}/${s.pods}`;
        if (key !== this.last) {
          this.last = key;
          this.note(
            `HPA current ${s.current} desired ${s.desired} (cpu ${s.cpu} of request, target ${TARGET_CPU}%); pods ${s.pods}, ready ${s.ready}`,
          );
        }
      } catch (err) {
        this.note(`sample failed: ${(err as Error).message.split('\n')[0]}`);
      }
      await sleep(2_000);
    }
  }
  note(what: string): void {
    const line = `+${Math.round((Date.now() - this.t0) / 1000)}s ${what}`;
    this.lines.push(line);
    console.log(`# ${line}`);
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

const ready = (pod: Obj) =>
  (pod.status?.conditions as Array<{ type: string; status: string }> | undefined)?.some(
    (x) => x.type === 'Ready' && x.status === 'True',
  ) === true;

describe('autoscaling on CPU with metrics-server', { timeout: SETUP_MS }, () => {
  let c: NodeCluster;
  let origin: Origin;
  let base: string;
  let recorder: Recorder | undefined;
  let load: Load | undefined;

  before(async () => {
    c = await nodeCluster();
    await ensureOperator(c);
    await addonsUp(c);
    origin = await photoOrigin(c.nodeIp);
    await freshNamespace(c, NS);
    base = await deployImageProxy(c, [imageProxy(origin)], NAME, NS);
  });
  after(async () => {
    await load?.stop();
    await recorder?.stop();
    if (recorder)
      console.log(`# HPA replicas over time (s since the load started):\n# ${recorder.lines.join('\n# ')}`);
    await k(c, ['delete', 'namespace', NS, '--wait=false']).catch(() => undefined);
    await origin?.close();
    if (c) await addonsDown(c);
    await c?.release();
  });

  it('renders an HPA on the tinycdn container’s CPU, which reads metrics-server', async () => {
    const hpa = await getObject(c, 'hpa', NAME, NS);
    assert.ok(hpa, 'the operator created the HPA');
    assert.equal(hpa.spec.minReplicas, MIN);
    assert.equal(hpa.spec.maxReplicas, MAX);
    assert.deepEqual(hpa.spec.metrics, [
      {
        type: 'ContainerResource',
        containerResource: {
          name: 'cpu',
          container: 'tinycdn',
          target: { type: 'Utilization', averageUtilization: TARGET_CPU },
        },
      },
    ]);
    const withMetrics = await eventually(
      'the HPA reads the container CPU from metrics.k8s.io',
      async () => {
        const h = await getObject(c, 'hpa', NAME, NS);
        const m = (h?.status?.currentMetrics as Obj[] | undefined)?.[0]?.containerResource?.current;
        return m?.averageUtilization !== undefined ? h : undefined;
      },
      240_000,
    );
    const top = await k(c, ['top', 'pods', '-n', NS, '--containers']);
    console.log(`# kubectl top pods --containers:\n# ${top.stdout.trim().split('\n').join('\n# ')}`);
    assert.match(top.stdout, /\btinycdn\s+\d+m\s+\d+Mi/);
    assert.equal(withMetrics.status.currentReplicas, MIN);
  });

  it('scales out under load and back in once the load stops', async () => {
    const hpa = await getObject(c, 'hpa', NAME, NS);
    const stabilisation = hpa?.spec?.behavior?.scaleDown?.stabilizationWindowSeconds as number | undefined;
    assert.equal(stabilisation, SCALE_DOWN_STABILISATION_S, 'the spec reaches the HPA');
    console.log(`# HPA behavior: ${JSON.stringify(hpa?.spec?.behavior)}`);

    recorder = new Recorder(c);
    // Every URL distinct (a cache buster per request): each is a miss and a transform.
    load = steadyLoad({
      concurrency: CONCURRENCY,
      url: (i) => `${base}/insecure/rs:fit:${200 + (i % 600)}:0/cb:${i}/plain/${origin.url}photo.jpg`,
      maxSeconds: 420,
      maxRequests: 50_000,
    });
    recorder.note(`load started: ${CONCURRENCY} concurrent requests, every URL distinct`);
    const out = await eventually(
      'the HPA scales out and the new pods are Ready',
      async () => {
        const h = await getObject(c, 'hpa', NAME, NS);
        const desired = h?.status?.desiredReplicas ?? 0;
        if (desired <= MIN) return undefined;
        const pods = (await listObjects(c, 'pods', NS, SELECTOR)).filter(ready);
        return pods.length >= desired ? { desired, ready: pods.length } : undefined;
      },
      300_000,
    );
    recorder.note(`scaled out: ${out.ready} pods Ready (desired ${out.desired})`);
    // Served by the scaled-out Deployment for a while before stopping.
    const at = load.answered();
    await eventually('requests served by the scaled-out pods', async () =>
      load && load.answered() >= at + 40 ? true : undefined,
    );
    const report = await load.stop();
    load = undefined;
    recorder.note(`load stopped: ${describeLoad(report)}`);
    assert.ok(report.ok > 0, describeLoad(report));
    // Refused (429) or failed transforms would not be a scaling failure, but none are expected here.
    assert.equal(report.failed, 0, describeLoad(report));

    // Back in: the stabilisation window, then the next syncs with fresh metrics.
    const stoppedAt = Date.now();
    const bound = (stabilisation + 4 * HPA_SYNC_S + 4 * METRICS_RESOLUTION_S + 60) * 1000;
    await eventually(
      `the HPA scales back in to ${MIN} (stabilisation ${stabilisation}s)`,
      async () => {
        const h = await getObject(c, 'hpa', NAME, NS);
        const d = await getObject(c, 'deployment', NAME, NS);
        const pods = await listObjects(c, 'pods', NS, SELECTOR);
        return h?.status?.desiredReplicas === MIN && d?.spec?.replicas === MIN && pods.length === MIN
          ? true
          : undefined;
      },
      bound,
    );
    const seconds = Math.round((Date.now() - stoppedAt) / 1000);
    recorder.note(`scaled in to ${MIN}, ${seconds}s after the load stopped`);
    // Not before the window: the stabilisation holds the highest recommendation of the last window.
    assert.ok(seconds >= stabilisation - HPA_SYNC_S, `scaled in after ${seconds}s, window ${stabilisation}s`);
    await recorder.stop();
  });
});
