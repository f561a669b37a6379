import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network, type EmuHost, type Transmit } from '../../src/emu/network.js';
import { PacketSink, Router, routeByDestination } from '../../src/emu/hosts.js';
import type { Micros } from '../../src/emu/sim.js';
import { idOf, packet } from './helpers.js';

/**
 * Sends ping #k, waits for the pong, then arms a timer `think` µs later and sends the next ping from
 * handleTimeout. Stops after `rounds`.
 */
class Pinger implements EmuHost {
  readonly log: string[] = [];
  private next = 0;
  private toSend: number | undefined = 0;
  private deadline: Micros | undefined;
  constructor(
    private readonly rounds: number,
    private readonly think: Micros,
  ) {}
  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array): void {
    this.log.push(`pong ${idOf(bytes)} @${now} if${ifaceId}`);
    if (++this.next < this.rounds) this.deadline = now + this.think;
  }
  pollTransmit(now: Micros): Transmit | undefined {
    if (this.toSend === undefined) return undefined;
    this.log.push(`ping ${this.toSend} @${now}`);
    const t = { ifaceId: 0, bytes: packet(this.toSend, 64) };
    this.toSend = undefined;
    return t;
  }
  pollTimeout(): Micros | undefined {
    return this.deadline;
  }
  handleTimeout(now: Micros): void {
    assert.equal(now, this.deadline, 'timeouts fire exactly at the deadline');
    this.deadline = undefined;
    this.toSend = this.next;
  }
}

/** Answers each ping with a pong carrying the same id. */
class Ponger implements EmuHost {
  private readonly out: Transmit[] = [];
  handlePacket(_now: Micros, ifaceId: number, bytes: Uint8Array): void {
    this.out.push({ ifaceId, bytes: packet(idOf(bytes), 64) });
  }
  pollTransmit(): Transmit | undefined {
    return this.out.shift();
  }
  pollTimeout(): Micros | undefined {
    return undefined;
  }
  handleTimeout(): void {
    assert.fail('ponger has no timers');
  }
}

test('network: two hosts ping-pong through a link, paced by pollTimeout/handleTimeout', () => {
  const net = new Network({ seed: 1 });
  const pinger = net.addHost('pinger', new Pinger(3, 50_000));
  const ponger = net.addHost('ponger', new Ponger());
  const { forward, backward } = net.connect([pinger, 0], [ponger, 0], { config: { delayMicros: 10_000, rateBitsPerSecond: 512_000 } });
  assert.equal(forward.name, 'pinger.0-ponger.0>');
  assert.equal(backward.name, 'pinger.0-ponger.0<');
  net.wake(pinger);
  net.runUntilIdle();
  // 64 bytes at 512 kbit/s = 1000 µs each way, plus 10 ms: the round trip is 22 ms; then 50 ms of think time.
  assert.deepEqual(pinger.log, ['ping 0 @0', 'pong 0 @22000 if0', 'ping 1 @72000', 'pong 1 @94000 if0', 'ping 2 @144000', 'pong 2 @166000 if0']);
  assert.equal(net.now, 166_000);
  assert.equal(forward.counters.deliveredPackets, 3);
  assert.equal(backward.counters.deliveredPackets, 3);
});

/** A host whose deadline is moved by outside calls; records when handleTimeout runs. */
class TimerHost implements EmuHost {
  deadline: Micros | undefined;
  fired: Micros[] = [];
  handlePacket(): void {}
  pollTransmit(): Transmit | undefined {
    return undefined;
  }
  pollTimeout(): Micros | undefined {
    return this.deadline;
  }
  handleTimeout(now: Micros): void {
    this.fired.push(now);
    this.deadline = undefined;
  }
}

test('network: a timer pushed later fires once at the final deadline; disarming cancels; past deadlines fire now', () => {
  const net = new Network();
  const h = net.addHost('h', new TimerHost());
  h.deadline = 1000;
  net.wake(h);
  for (const [at, deadline] of [
    [100, 2000],
    [200, 3000],
    [300, 2500], // earlier again: re-armed earlier
  ] as const) {
    net.sim.schedule(at, () => {
      h.deadline = deadline;
      net.wake(h);
    });
  }
  net.runUntilIdle();
  assert.deepEqual(h.fired, [2500]);

  h.deadline = 10_000;
  net.wake(h);
  net.run(5000);
  h.deadline = undefined;
  net.wake(h);
  net.runUntilIdle();
  assert.deepEqual(h.fired, [2500]);
  assert.equal(net.now, 5000, 'a disarmed timer leaves nothing scheduled');

  h.deadline = 1234.5; // in the past: fires at the current time
  net.wake(h);
  net.runUntilIdle();
  assert.deepEqual(h.fired, [2500, 5000]);
});

test('network: a router joins a two-interface client to a server (route by destination)', () => {
  const net = new Network({ seed: 3 });
  const client = net.addHost('client', new PacketSink());
  const server = net.addHost('server', new PacketSink());
  const router = net.addHost('router', new Router(routeByDestination([
    ['198.18.0.0/24', 0],
    ['198.18.1.0/24', 1],
    ['198.18.2.2/32', 2],
  ])));
  net.connect([client, 0], [router, 0], { config: { delayMicros: 1000 } });
  net.connect([client, 1], [router, 1], { config: { delayMicros: 5000 } });
  net.connect([server, 0], [router, 2], { config: { delayMicros: 100 } });
  // A bare IPv4 header with the destination set; the test id rides in the byte after the header.
  const ipv4 = (dst: string, id: number) => {
    const b = new Uint8Array(21);
    b[0] = 0x45;
    b.set(dst.split('.').map(Number), 16);
    b[20] = id;
    return b;
  };
  const fromServer = net.links.get('server.0-router.2>')!;
  const toServer0 = net.links.get('client.0-router.0>')!;
  const toServer1 = net.links.get('client.1-router.1>')!;
  net.inject(fromServer, ipv4('198.18.0.1', 1));
  net.inject(fromServer, ipv4('198.18.1.1', 2));
  net.inject(fromServer, ipv4('203.0.113.1', 3), 10);
  net.inject(toServer0, ipv4('198.18.2.2', 4), 20);
  net.inject(toServer1, ipv4('198.18.2.2', 5), 20);
  net.runUntilIdle();
  assert.deepEqual(client.received.map((p) => [p.time, p.ifaceId, p.bytes[20]]), [
    [1100, 0, 1],
    [5100, 1, 2],
  ]);
  assert.deepEqual(server.received.map((p) => [p.time, p.ifaceId, p.bytes[20]]), [
    [1120, 0, 4],
    [5120, 0, 5],
  ]);
  assert.equal((router as Router).unroutable, 1);
});

test('network: unattached interfaces count drops; names must be unique; unknown hosts are rejected', () => {
  const net = new Network();
  const sender = net.addHost('s', new Ponger());
  const sink = net.addHost('t', new PacketSink());
  net.connect([sender, 0], [sink, 0]);
  // The ponger answers on the interface it heard on: interface 1 has no link.
  sender.handlePacket(0, 1, packet(1, 10));
  net.wake(sender);
  assert.equal(net.unattachedTransmits, 1);
  assert.throws(() => net.addHost('s', new PacketSink()), /duplicate host/);
  assert.throws(() => net.connect([sender, 0], [sink, 0]), /duplicate link/);
  assert.throws(() => net.wake(new PacketSink()), /not registered/);
});

test('network: driveBounded stops a runaway pair of hosts', () => {
  // Two pongers with a zero-delay link echo one packet forever at the same instant.
  const net = new Network();
  const a = net.addHost('a', new Ponger());
  const b = net.addHost('b', new Ponger());
  const { forward } = net.connect([a, 0], [b, 0]);
  net.inject(forward, packet(1, 10));
  const r = net.driveBounded(1000, 10_000);
  assert.equal(r.stoppedBy, 'events');
  assert.equal(r.now, 0);
  assert.throws(() => net.runUntilIdle(10_000), /still busy/);
});

test('routeByDestination: longest prefix wins, non-octet prefixes, IPv6, non-IP', () => {
  const route = routeByDestination([
    ['0.0.0.0/0', 9],
    ['198.18.0.0/15', 1],
    ['198.19.128.0/17', 2],
    ['2001:2::/48', 3],
    ['2001:2:0:1::/64', 4],
  ]);
  const v4 = (a: number[]) => Uint8Array.from([0x45, ...new Array(15).fill(0), ...a]);
  const v6 = (a: number[]) => {
    const b = new Uint8Array(40);
    b[0] = 0x60;
    b.set(a, 24);
    return b;
  };
  assert.equal(route(v4([198, 18, 3, 4]), 0), 1);
  assert.equal(route(v4([198, 19, 127, 1]), 0), 1);
  assert.equal(route(v4([198, 19, 128, 1]), 0), 2);
  assert.equal(route(v4([8, 8, 8, 8]), 0), 9);
  assert.equal(route(v6([0x20, 0x01, 0, 2, 0, 0, 0, 1]), 0), 4);
  assert.equal(route(v6([0x20, 0x01, 0, 2, 0, 0, 0, 2]), 0), 3);
  assert.equal(route(v6([0x20, 0x01, 0, 3]), 0), undefined);
  assert.equal(route(Uint8Array.from([0x00, 1, 2]), 0), undefined);
  assert.throws(() => routeByDestination([['198.18.0.0/33', 0]]), /bad CIDR/);
});
