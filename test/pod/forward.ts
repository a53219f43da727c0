/**
 * Port forwarding into a pod's network namespace, as `kubectl port-forward` does it: run-pod.ts
 * starts this script inside the pod's namespace (nsenter), and it joins every connection made to
 * DIR/PORT.sock (a Unix socket, reachable from the host's namespace through the file system)
 * to 127.0.0.1:PORT inside the pod. Prints "ready" once every socket listens.
 *
 *   node test/pod/forward.ts DIR PORT...
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';

const [dir, ...ports] = process.argv.slice(2);
if (dir === undefined || ports.length === 0 || ports.some((p) => !/^\d{1,5}$/.test(p))) {
  console.error('usage: node test/pod/forward.ts DIR PORT...');
  process.exit(2);
}

const join2 = (client: Socket, port: number) => {
  const upstream = createConnection({ host: '127.0.0.1', port });
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
  client.pipe(upstream);
  upstream.pipe(client);
};

await Promise.all(
  ports.map(
    (p) =>
      new Promise<void>((resolve, reject) => {
        const server = createServer((client) => join2(client, Number(p)));
        server.once('error', reject);
        server.listen(join(dir, `${p}.sock`), () => resolve());
      }),
  ),
);
console.log('ready');
