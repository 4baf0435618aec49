// The host forwarder the real install gives pods for loopback-only services (hack/lib/host-forward.ts):
// bytes go both ways, and closing it ends the connections it carries.
import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { forwardTcp } from '../../hack/lib/host-forward.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** An echo server on loopback that upper-cases what it gets. */
async function upperEcho(): Promise<number> {
  const sockets = new Set<Socket>();
  const srv = createServer((s) => {
    sockets.add(s);
    s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase()));
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), srv.close(r))));
  return (srv.address() as { port: number }).port;
}

function exchange(port: number, text: string): Promise<{ reply: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    s.once('data', (d: Buffer) => resolve({ reply: d.toString(), socket: s }));
    s.once('error', reject);
  });
}

describe('forwardTcp', () => {
  it('carries bytes both ways to the target and counts connections', async () => {
    const fwd = await forwardTcp('127.0.0.1', { host: '127.0.0.1', port: await upperEcho() });
    closers.push(() => fwd.close());
    expect(fwd.port).toBeGreaterThan(0);
    const { reply, socket } = await exchange(fwd.port, 'hello');
    expect(reply).toBe('HELLO');
    socket.destroy();
    expect(fwd.accepted).toBe(1);
  });

  it('ends the connections it carries when closed, and listens no more', async () => {
    const fwd = await forwardTcp('127.0.0.1', { host: '127.0.0.1', port: await upperEcho() });
    const { socket } = await exchange(fwd.port, 'x');
    const closed = new Promise((r) => socket.once('close', r));
    await fwd.close();
    await closed;
    await expect(exchange(fwd.port, 'y')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses a connection whose target does not answer by closing it', async () => {
    const dead = await upperEcho();
    for (const c of closers.splice(0)) await c(); // the target is gone
    const fwd = await forwardTcp('127.0.0.1', { host: '127.0.0.1', port: dead });
    closers.push(() => fwd.close());
    const s = connect(fwd.port, '127.0.0.1');
    await new Promise((r) => s.once('close', r));
  });
});
