// A TCP forwarder on the host, for the test cluster only: pods on the real node reach the host at
// the pod network's gateway (10.244.0.1 on hearth0), but PostgreSQL listens on 127.0.0.1 only.
// This listens on the gateway address (never on a public one) and pipes each connection to the
// loopback target, so a pod's DATABASE_URL can name postgres://…@10.244.0.1:<port>/… while the
// server keeps its loopback-only, trust-auth configuration. It lives as long as the process that
// opened it (the e2e test, the demo) and closes every connection when closed.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface HostForward {
  /** The address pods dial. */
  host: string;
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

/** Listens on `listenHost` (port 0: a free one) and forwards every connection to `target`. */
export async function forwardTcp(listenHost: string, target: { host: string; port: number }, listenPort = 0): Promise<HostForward> {
  const open = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((inbound) => {
    accepted++;
    const outbound = connect(target.port, target.host);
    open.add(inbound).add(outbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
      open.delete(inbound);
      open.delete(outbound);
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : listenPort;
  return {
    host: listenHost,
    port,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
