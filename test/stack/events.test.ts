// The host's one event stream (Host.pollEvent, src/stack/events.ts): what a drain reports and in which order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host, type HostEvent } from '../../src/stack/host.js';

function hosts() {
  const a = new Host({ name: 'a', secret: new Uint8Array(32).fill(1) });
  const b = new Host({ name: 'b', secret: new Uint8Array(32).fill(2) });
  a.addInterface('e', ['198.18.0.1/24']);
  b.addInterface('e', ['198.18.0.2/24']);
  let now = 0;
  /** Exchanges packets both ways until both are quiet (bounded); events stay queued. */
  const step = (): void => {
    for (let round = 0; round < 50; round++) {
      now += 1000;
      let moved = false;
      for (let p = a.pollTransmit(now); p; p = a.pollTransmit(now), moved = true) b.handlePacket(now, 0, p.bytes);
      for (let p = b.pollTransmit(now); p; p = b.pollTransmit(now), moved = true) a.handlePacket(now, 0, p.bytes);
      if (!moved) return;
    }
  };
  return { a, b, step };
}

const drain = (h: Host): HostEvent[] => {
  const out: HostEvent[] = [];
  for (let e = h.pollEvent(); e; e = h.pollEvent()) out.push(e);
  return out;
};

const label = (e: HostEvent): string => (e.type === 'monitor' ? `monitor:${e.event.type}` : e.type === 'tcp' || e.type === 'mptcp' ? `${e.type}:${e.event.type}` : e.type);

test('a drain: MPTCP accepts and events, then plain TCP ones, then monitor events; each accept right before its established', () => {
  const { a, b, step } = hosts();
  b.listen(80, { mptcp: true });
  b.listen(81);
  // The TCP connection comes first in the table: its events still follow the MPTCP connection's.
  const tcp = a.connect(0, '198.18.0.2', 81);
  const mptcp = a.connect(0, '198.18.0.2', 80, { mptcp: true });
  step();
  const server = drain(b).map(label);
  assert.deepEqual(server, ['mptcpConnection', 'mptcp:established', 'connection', 'tcp:established', 'monitor:CREATED', 'monitor:ESTABLISHED']);
  const client = drain(a);
  assert.deepEqual(client.map(label), ['mptcp:established', 'tcp:established', 'monitor:CREATED']);
  assert.equal(client[0]!.type === 'mptcp' && client[0]!.connection, mptcp);
  assert.equal(client[1]!.type === 'tcp' && client[1]!.connection, tcp);
  assert.equal(a.pollEvent(), undefined, 'the drain ended');

  // The next drain starts over with the MPTCP connections.
  tcp.write(new Uint8Array(10));
  mptcp.write(new Uint8Array(10));
  step();
  assert.deepEqual(drain(b).map(label), ['mptcp:readable', 'tcp:readable']);
  // Our MPTCP client is fully established once its data is acknowledged (Linux reports ESTABLISHED then).
  assert.deepEqual(drain(a).map(label), ['monitor:ESTABLISHED']);
});

test('an aborted MPTCP connection: its closed event, then the monitor CLOSED; the drain forgets it', () => {
  const { a, b, step } = hosts();
  b.listen(80, { mptcp: true });
  const client = a.connect(0, '198.18.0.2', 80, { mptcp: true });
  step();
  drain(a);
  drain(b);
  client.abort();
  step();
  const events = drain(a).map(label);
  assert.deepEqual(events, ['mptcp:closed', 'monitor:CLOSED']);
  assert.deepEqual(a.mptcpConnections(), [], 'forgotten in the drain');
});
