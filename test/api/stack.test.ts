/**
 * The public API (src/index.ts) as an application uses it: stacks on the in-process emulated network (real-
 * time pacing: the sockets are Node streams) and on UDP paths over loopback. Every wait is bounded by
 * `within`; assertions are on what arrived and on the stack's state, never on the clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createEmulatedNetwork,
  createStack,
  formatMonitorLine,
  PmConfigError,
  type MptcpEvent,
  type MptcpSocket,
  type Stack,
} from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Server side: collects what arrives on each accepted socket, answers with its SHA-256 and closes. */
function hashServer(stack: Stack, port: number): { accepted: MptcpSocket[] } {
  const accepted: MptcpSocket[] = [];
  stack
    .createServer((socket) => {
      accepted.push(socket);
      const hash = createHash('sha256');
      socket.on('data', (chunk: Buffer) => hash.update(chunk));
      socket.on('end', () => socket.end(hash.digest('hex')));
    })
    .listen(port);
  return { accepted };
}

/** Client side: sends `data`, half-closes, and resolves with the server's answer at the end. */
function sendAndHash(socket: MptcpSocket, data: Uint8Array): Promise<string> {
  let reply = '';
  socket.setEncoding('utf8').on('data', (text: string) => (reply += text));
  socket.end(data);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('end', () => resolve(reply));
  });
}

/** Two stacks joined by `paths` emulated links (path N: 198.18.N.1/24 and 198.18.N.2/24). */
function twoStacks(paths: number, options: { serverMptcp?: boolean; clientMptcp?: boolean } = {}) {
  const network = createEmulatedNetwork({ seed: 7 });
  const client = createStack({ name: 'client', network, ...(options.clientMptcp === undefined ? {} : { mptcp: options.clientMptcp }) });
  const server = createStack({ name: 'server', network, ...(options.serverMptcp === undefined ? {} : { mptcp: options.serverMptcp }) });
  const links = [];
  for (let n = 1; n <= paths; n++) {
    links.push(
      network.link({ stack: client, address: `198.18.${n}.1/24` }, { stack: server, address: `198.18.${n}.2/24` }, { rateBitsPerSecond: 40e6, delayMicros: 2_000 * n }),
    );
  }
  return { network, client, server, links };
}

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

test('two emulated paths: MPTCP with a join from a subflow endpoint, data intact, both subflows carry data, monitor events and counters; close() ends every timer', async () => {
  const before = timeouts();
  const { network, client, server } = twoStacks(2);
  try {
    const events: MptcpEvent[] = [];
    client.on('monitor', (e: MptcpEvent) => events.push(e));
    assert.equal(client.addEndpoint('198.18.2.1 subflow'), 1);
    assert.deepEqual(client.endpoints(), ['198.18.2.1 id 1 subflow']);
    hashServer(server, 5201);
    const data = pattern(2_000_000, 3);
    const socket = client.connect({ port: 5201, host: '198.18.1.2' });
    assert.equal(socket.connecting, true);
    await within(10_000, 'connect', once(socket, 'connect'));
    assert.equal(socket.isMptcp, true);
    assert.equal(await within(30_000, 'the transfer', sendAndHash(socket, data)), sha256(data));
    assert.equal(socket.mptcpInfo()?.mode, 'mptcp');
    assert.equal(socket.bytesWritten, data.length);
    const subflows = socket.subflows();
    assert.deepEqual(subflows.map((s) => [s.id, s.localAddress, s.remoteAddress, s.join]), [
      [0, '198.18.1.1', '198.18.1.2', false],
      [1, '198.18.2.1', '198.18.1.2', true],
    ]);
    for (const s of subflows) assert.ok(s.dataBytesSent > 0, `subflow ${s.id} carried data`);
    assert.equal(subflows.reduce((a, s) => a + s.dataBytesSent, 0) >= data.length, true);
    const types = events.map((e) => e.type);
    for (const t of ['CREATED', 'ESTABLISHED', 'SF_ESTABLISHED'] as const) assert.ok(types.includes(t), `${t} in ${types.join(',')}`);
    assert.match(formatMonitorLine(events.find((e) => e.type === 'SF_ESTABLISHED')!), /saddr4=198\.18\.2\.1/);
    const counters = client.counters();
    assert.equal(counters.MPCapableSYNTX, 1);
    assert.equal(counters.MPJoinSynAckRx, 1);
  } finally {
    await within(10_000, 'network.close()', network.close());
  }
  assert.equal(client.closed && server.closed, true);
  assert.ok(timeouts() <= before, 'no timer of the network or the stacks is left');
});

test('socket.addSubflow joins by hand and returns the subflow id; setBackup sends MP_PRIO (the peer sees backup), unknown ids answer false', async () => {
  const { network, client, server } = twoStacks(2);
  try {
    hashServer(server, 80);
    const serverEvents: MptcpEvent[] = [];
    server.on('monitor', (e: MptcpEvent) => serverEvents.push(e));
    const socket = client.connect(80, '198.18.1.2');
    // A first byte: the client is fully established once the server's DATA_ACK confirms its key (RFC 8684 3.1).
    const head = pattern(1000, 8);
    socket.write(head);
    await within(10_000, 'connect', once(socket, 'connect'));
    await within(10_000, 'fully established', until(() => socket.mptcpInfo()?.fullyEstablished === true, client));
    const id = socket.addSubflow('198.18.2.1', { remoteAddress: '198.18.2.2' });
    assert.equal(id, 1);
    await within(10_000, 'the join', until(() => socket.subflows().some((s) => s.id === id && s.fullyEstablished), client));
    assert.equal(socket.setBackup(id, true), true);
    assert.equal(socket.setBackup(99, true), false);
    assert.equal(socket.subflows().find((s) => s.id === id)?.backupLocal, true);
    await within(10_000, 'SF_PRIO at the server', until(() => serverEvents.some((e) => e.type === 'SF_PRIO' && e.backup === true), server));
    const data = pattern(300_000, 9);
    assert.equal(await within(30_000, 'the transfer', sendAndHash(socket, data)), sha256(Buffer.concat([head, data])));
  } finally {
    await within(10_000, 'network.close()', network.close());
  }
});

/** Resolves once `condition()` holds, checked after each of the stack's turns (never by the clock). */
function until(condition: () => boolean, stack: Stack): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = (): void => {
      if (!condition()) return;
      stack.off('monitor', check);
      clearInterval(poll);
      resolve();
    };
    // Monitor events mark most changes; a slow poll covers the rest (bounded by `within` at the caller).
    stack.on('monitor', check);
    const poll = setInterval(check, 5);
  });
}

test('plain TCP and fallback: mptcp: false gives TCP sockets (no MPTCP info, no subflows, addSubflow throws); an MPTCP client to a TCP-only server falls back', async () => {
  const tcp = twoStacks(1, { clientMptcp: false });
  try {
    hashServer(tcp.server, 7);
    const socket = tcp.client.connect({ port: 7, host: '198.18.1.2', noDelay: true });
    await within(10_000, 'connect', once(socket, 'connect'));
    assert.equal(socket.isMptcp, false);
    assert.equal(socket.mptcpInfo(), undefined);
    assert.deepEqual(socket.subflows(), []);
    assert.throws(() => socket.addSubflow('198.18.1.1'), /not an MPTCP socket/);
    assert.equal(socket.setBackup(0, true), false);
    const data = pattern(100_000, 1);
    assert.equal(await within(20_000, 'TCP transfer', sendAndHash(socket, data)), sha256(data));
  } finally {
    await within(10_000, 'close', tcp.network.close());
  }
  const fallback = twoStacks(1, { serverMptcp: false });
  try {
    hashServer(fallback.server, 7);
    const socket = fallback.client.connect(7, '198.18.1.2');
    await within(10_000, 'connect', once(socket, 'connect'));
    const data = pattern(100_000, 2);
    assert.equal(await within(20_000, 'fallback transfer', sendAndHash(socket, data)), sha256(data));
    assert.equal(socket.mptcpInfo()?.mode, 'fallback');
    assert.equal(socket.isMptcp, false);
    assert.equal(fallback.client.counters().MPCapableFallbackSYNACK, 1);
  } finally {
    await within(10_000, 'close', fallback.network.close());
  }
});

test('settings in ip mptcp words: endpoints, limits and scheduler with ip mptcp errors; bad calls throw with a code', async () => {
  const { network, client, server } = twoStacks(2);
  try {
    assert.deepEqual(client.limits(), { subflows: 2, addAddrAccepted: 0 });
    client.setLimits('add_addr_accepted 3');
    assert.deepEqual(client.limits(), { subflows: 2, addAddrAccepted: 3 });
    client.setLimits({ subflows: 4 });
    assert.deepEqual(client.limits(), { subflows: 4, addAddrAccepted: 3 });
    assert.throws(() => client.setLimits('subflows 9'), (e: unknown) => e instanceof PmConfigError && /greater than maximum \(8\)/.test(e.message));
    assert.throws(() => client.setLimits({ subflows: -1 }), PmConfigError);
    assert.throws(() => client.addEndpoint('198.18.2.1 bogus'), PmConfigError);
    assert.throws(() => client.addEndpoint('198.18.9.1 subflow'), /not one of this stack's addresses \(198\.18\.1\.1, 198\.18\.2\.1\)/);
    assert.equal(client.addEndpoint('198.18.2.1 id 5 signal backup'), 5);
    assert.throws(() => client.addEndpoint('198.18.2.1 subflow'), /duplicate endpoint/);
    client.setEndpoints(['198.18.1.1 id 1 signal', '198.18.2.1 id 2 subflow']);
    assert.deepEqual(client.endpoints(), ['198.18.1.1 id 1 signal', '198.18.2.1 id 2 subflow']);
    assert.equal(client.removeEndpoint(1), 0);
    assert.deepEqual(client.endpoints(), ['198.18.2.1 id 2 subflow']);
    assert.equal(client.scheduler, 'default');
    client.setScheduler('roundrobin');
    assert.equal(client.scheduler, 'roundrobin');
    assert.throws(() => client.setScheduler('nope'), /unknown MPTCP scheduler/);
    assert.throws(() => createStack({ network, name: 'server' }), /already on this network/);
    await assert.rejects(client.addUdpInterface({ localAddress: '127.0.0.1' }), /emulated stack/);
    assert.throws(() => client.addInterface({ addresses: ['198.18.7.1/24'], send: () => true }), /emulated stack/);
    assert.throws(
      () => client.connect(80, '203.0.113.1'),
      (e: NodeJS.ErrnoException) => e.code === 'ENETUNREACH',
    );
    assert.throws(() => client.connect({ port: 80 } as never), /needs a host/);
    assert.deepEqual(client.interfaces(), [
      { id: 0, name: 'eth0', mtu: 1500, addresses: ['198.18.1.1/24'] },
      { id: 1, name: 'eth1', mtu: 1500, addresses: ['198.18.2.1/24'] },
    ]);
    const first = server.createServer().listen(9);
    await within(5_000, 'listening', once(first, 'listening'));
    assert.deepEqual(first.address(), { address: '0.0.0.0', port: 9, family: 'IPv4' });
    const second = server.createServer().listen({ port: 9 });
    const [error] = (await within(5_000, 'EADDRINUSE', once(second, 'error'))) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'EADDRINUSE');
    const ephemeral = server.createServer().listen();
    await within(5_000, 'listening', once(ephemeral, 'listening'));
    assert.ok(ephemeral.address()!.port >= 32768);
  } finally {
    await within(10_000, 'close', network.close());
  }
  assert.throws(() => client.connect(80, '198.18.1.2'), /closed/);
});

test('stack.close() with a peer that never closes: the FIN goes out, then after the timeout the connection is reset (MP_FASTCLOSE) and close() resolves', async () => {
  const { network, client, server } = twoStacks(1);
  try {
    let peer: MptcpSocket | undefined;
    const accepted = new Promise<MptcpSocket>((resolve) =>
      server.createServer((s) => {
        peer = s;
        s.resume(); // reads, never ends
        resolve(s);
      }).listen(7),
    );
    const socket = client.connect(7, '198.18.1.2');
    socket.write('hello');
    await within(10_000, 'accept', accepted);
    // Closed once fully established: a DATA_FIN sent before that is held up (see the report on issue 8).
    await within(10_000, 'fully established', until(() => socket.mptcpInfo()?.fullyEstablished === true, client));
    const peerEnded = new Promise<void>((resolve) => peer!.once('end', resolve));
    const peerError = new Promise<NodeJS.ErrnoException>((resolve) => peer!.once('error', resolve));
    await within(10_000, 'client.close()', client.close({ timeout: 300 }));
    await within(10_000, "the peer's end", peerEnded);
    const error = await within(10_000, "the peer's reset", peerError);
    assert.equal(error.code, 'ECONNRESET');
    assert.equal(client.counters().MPFastcloseTx, 1);
  } finally {
    await within(10_000, 'network.close()', network.close());
  }
});

test('an emulated path taken down in mid-transfer: the data goes on over the other path, intact', async () => {
  const { network, client, server, links } = twoStacks(2);
  try {
    client.addEndpoint('198.18.2.1 subflow');
    hashServer(server, 7);
    const socket = client.connect(7, '198.18.1.2');
    const head = pattern(1000, 6); // the path manager joins once the connection is fully established: data does that
    socket.write(head);
    await within(10_000, 'connect', once(socket, 'connect'));
    await within(10_000, 'the join', until(() => socket.subflows().filter((s) => s.fullyEstablished).length === 2, client));
    const data = pattern(1_000_000, 4);
    const done = sendAndHash(socket, data);
    links[0]!.setUp(false);
    assert.equal(links[0]!.forward.up, false);
    assert.equal(await within(60_000, 'the transfer over path 2', done), sha256(Buffer.concat([head, data])));
    assert.ok(socket.subflows()[1]!.dataBytesSent > 0);
  } finally {
    await within(10_000, 'close', network.close());
  }
});

test('two stacks over UDP paths on loopback (127.0.0.x): MPTCP over two paths, data intact; close() releases the UDP sockets', async () => {
  const udpBefore = process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
  const server = createStack({ name: 'server' });
  const client = createStack({ name: 'client' });
  try {
    const s1 = await server.addUdpInterface({ localAddress: '127.0.0.2' });
    const s2 = await server.addUdpInterface({ localAddress: '127.0.0.3' });
    await client.addUdpInterface({ localAddress: '127.0.0.1', remote: `127.0.0.2:${s1.local.port}` });
    await client.addUdpInterface({ localAddress: '127.0.0.4', remote: { address: '127.0.0.3', port: s2.local.port } });
    assert.deepEqual(client.interfaces().map((i) => [i.addresses, i.mtu]), [[['127.0.0.1/32'], 1472], [['127.0.0.4/32'], 1472]]);
    client.addEndpoint('127.0.0.4 subflow');
    hashServer(server, 7000);
    const socket = client.connect(7000, '127.0.0.2');
    const data = pattern(1_000_000, 5);
    assert.equal(await within(30_000, 'the transfer', sendAndHash(socket, data)), sha256(data));
    assert.deepEqual(socket.subflows().map((s) => s.localAddress), ['127.0.0.1', '127.0.0.4']);
    assert.ok(socket.subflows().every((s) => s.dataBytesSent > 0));
  } finally {
    await within(10_000, 'close', Promise.all([client.close(), server.close()]));
  }
  assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length, udpBefore);
});

test('a program that closes its sockets and server but never calls close() exits by itself (TIME-WAIT does not hold it)', () => {
  const program = `
    import { createStack, createEmulatedNetwork } from './src/index.js';
    const network = createEmulatedNetwork();
    const a = createStack({ network }), b = createStack({ network });
    network.link({ stack: a, address: '198.18.0.1/24' }, { stack: b, address: '198.18.0.2/24' }, { delayMicros: 1000 });
    const server = b.createServer((s) => s.pipe(s)).listen(7);
    const socket = a.connect(7, '198.18.0.2');
    let n = 0;
    socket.on('data', (c) => (n += c.length)).on('end', () => server.close());
    socket.end('x'.repeat(10000));
    process.on('exit', () => console.log('echoed', n, a.host.connections().map((c) => c.state).join(' ')));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, `still running after 30 s (a timer holds the process)\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^echoed 10000 TIME-WAIT( TIME-WAIT)*$/m);
});

test('connect over a UDP path whose remote port is closed: error ECONNREFUSED from the ICMP port unreachable, like the kernel for TCP', async () => {
  const { createSocket } = await import('node:dgram');
  // A port that was free on 127.0.0.2 a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.2', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const client = createStack({ name: 'client' });
  try {
    await client.addUdpInterface({ localAddress: '127.0.0.1', remote: `127.0.0.2:${port}` });
    for (const mptcp of [false, true]) {
      const socket = client.connect({ port: 5201, host: '127.0.0.2', mptcp });
      const [error] = (await within(30_000, 'the connect to fail', once(socket, 'error'))) as [NodeJS.ErrnoException];
      assert.equal(error.code, 'ECONNREFUSED', `${mptcp ? 'MPTCP' : 'TCP'}: ${error.message}`);
    }
  } finally {
    await within(10_000, 'close', client.close());
  }
});

test('congestion control per stack and per socket (cc): the stack default, connect and createServer override it, every subflow uses it; unknown names throw listing the registered ones', async () => {
  const network = createEmulatedNetwork({ seed: 7 });
  const client = createStack({ name: 'client', network, cc: 'olia' });
  const server = createStack({ name: 'server', network });
  for (let n = 1; n <= 2; n++) {
    network.link({ stack: client, address: `198.18.${n}.1/24` }, { stack: server, address: `198.18.${n}.2/24` }, { rateBitsPerSecond: 40e6, delayMicros: 2_000 * n });
  }
  try {
    assert.equal(client.congestionControl, 'olia');
    assert.equal(server.congestionControl, 'cubic', 'the default stays cubic');
    const names = /available: balia, cubic, lia, olia, reno/;
    for (const bad of [() => client.setCongestionControl('bbr'), () => client.connect({ port: 1, host: '198.18.1.2', cc: 'bbr' }), () => server.createServer({ cc: 'vegas' })]) {
      assert.throws(bad, (e: NodeJS.ErrnoException) => e.code === 'ERR_INVALID_ARG_VALUE' && /unknown congestion control/.test(e.message) && names.test(e.message));
    }
    client.addEndpoint('198.18.2.1 subflow');
    const accepted: MptcpSocket[] = [];
    server
      .createServer({ cc: 'balia' }, (socket) => {
        accepted.push(socket);
        socket.resume();
        socket.on('end', () => socket.end());
      })
      .listen(5201);
    const connectWith = async (cc: string | undefined): Promise<MptcpSocket> => {
      const socket = client.connect({ port: 5201, host: '198.18.1.2', ...(cc === undefined ? {} : { cc }) });
      await within(10_000, 'connect', once(socket, 'connect'));
      socket.write(pattern(10_000, 2)); // data makes the connection fully established; then it joins
      await within(10_000, 'the join', until(() => socket.subflows().filter((s) => s.fullyEstablished).length === 2, client));
      return socket;
    };
    const byStack = await connectWith(undefined);
    const bySocket = await connectWith('lia');
    assert.deepEqual(byStack.subflows().map((s) => s.tcp.congestionControl), ['olia', 'olia']);
    assert.deepEqual(bySocket.subflows().map((s) => s.tcp.congestionControl), ['lia', 'lia']);
    await within(10_000, 'accepted', until(() => accepted.length === 2 && accepted.every((s) => s.subflows().length === 2), server));
    for (const s of accepted) assert.deepEqual(s.subflows().map((sf) => sf.tcp.congestionControl), ['balia', 'balia'], 'createServer({ cc })');
    client.setCongestionControl('reno');
    assert.equal(client.congestionControl, 'reno');
    const afterSet = await connectWith(undefined);
    assert.equal(afterSet.info().congestionControl, 'reno');
    for (const s of [byStack, bySocket, afterSet]) s.end(pattern(100_000, 1));
  } finally {
    await within(10_000, 'close', network.close());
  }
  const other = createEmulatedNetwork({ seed: 8 });
  try {
    assert.throws(() => createStack({ name: 'other', network: other, cc: 'bbr' }), /unknown congestion control "bbr"; available: balia, cubic, lia, olia, reno/);
  } finally {
    await within(10_000, 'close', other.close());
  }
});
