/**
 * `HostPair`: the two-host scenario driver of the emulator (quinn's tests/util.rs `Pair`, smoltcp's netsim).
 * A client and a server `Host` of this stack, each with one interface per path (`eth<i>` for path i), the
 * two interfaces of a path joined by an emulated duplex link, each host behind an application adapter
 * (./host-app.ts) that hands the host's events to the application's callbacks; all on one virtual clock.
 *
 * Build order is fixed, because a run depends on it: the network, the client host, the server host, their
 * interfaces path by path, `setUp` (endpoints, limits, scheduler), the client's application, the server's,
 * both added to the network, then the links in path order. The caller then starts the applications (listen,
 * connect, write), `wake`s the hosts it changed from outside, and advances time:
 *
 * - `step()`: one event of the network (a delivery or a timer);
 * - `run(until)` / `runFor(duration)`: every event up to an instant of virtual time;
 * - `drive(done, limit)`: slices of virtual time (10 ms) until `done()` holds or `limit` has passed;
 * - `driveBounded(maxTime, maxEvents)`: to the end (nothing left to do), bounded in time and in events.
 *
 * Sans-IO like the emulator: virtual time only, no clock, no sockets.
 */
import { Network, type ConnectOptions, type DuplexLink } from '../emu/network.js';
import type { Seed } from '../emu/random.js';
import type { DriveResult } from '../emu/sim.js';
import { Host, type HostOptions } from '../stack/host.js';
import type { Micros } from '../time/micros.js';
import type { HostApp } from './host-app.js';

/** One path: an interface on each host and the emulated duplex link between them. */
export interface PairPath {
  /** The client's address on the path, with its prefix length ("198.18.1.2/24"). */
  readonly clientAddress: string;
  /** The server's address on the path, with its prefix length ("198.18.1.1/24"). */
  readonly serverAddress: string;
  /** Both interfaces' MTU (default: the host's default, 1500). */
  readonly mtu?: number;
  /**
   * The link: `config` both ways, or `forward` (client to server) and `backward`, and its `name` (unique; it
   * seeds the link's random streams; default from the host names and interface numbers).
   */
  readonly link?: ConnectOptions;
}

/** How a `HostPair` is built. */
export interface PairOptions {
  /** Seeds every random stream of the network (loss, jitter, reordering of each link direction). */
  readonly seed: Seed;
  /** The network's initial virtual time (default 0). */
  readonly start?: Micros;
  /** The hosts' options: name, secret (ISNs, keys and ports follow from it), TCP config, checksum offload. */
  readonly client: HostOptions;
  readonly server: HostOptions;
  /** The paths, in order: path i is interface i of each host. */
  readonly paths: readonly PairPath[];
  /** The hosts' names on the network (default "client" and "server"). */
  readonly names?: readonly [client: string, server: string];
  /** Configures the hosts once they have their interfaces, before the applications are made. */
  readonly setUp?: (clientHost: Host, serverHost: Host) => void;
}

/** Makes the application adapter of each host (an `AppHost` or `MptcpApp` with its callbacks). */
export interface PairApps<C extends HostApp, S extends HostApp> {
  readonly client: (host: Host) => C;
  readonly server: (host: Host) => S;
}

/** Two hosts of this stack and their applications on one emulated network (see the file comment). */
export class HostPair<C extends HostApp = HostApp, S extends HostApp = HostApp> {
  /** The network (for taps, link schedules, `sim.schedule`). */
  readonly net: Network;
  readonly clientHost: Host;
  readonly serverHost: Host;
  /** The hosts' application adapters, as registered with the network. */
  readonly client: C;
  readonly server: S;
  /** One duplex link per path, in path order (`forward` carries client to server). */
  readonly paths: readonly DuplexLink[];

  constructor(options: PairOptions, apps: PairApps<C, S>) {
    this.net = new Network({ seed: options.seed, start: options.start });
    // Checksums are left to the network, which computes them only where something reads the packets.
    this.clientHost = new Host({ deferChecksums: true, ...options.client });
    this.serverHost = new Host({ deferChecksums: true, ...options.server });
    options.paths.forEach((p, i) => {
      this.clientHost.addInterface(`eth${i}`, [p.clientAddress], p.mtu);
      this.serverHost.addInterface(`eth${i}`, [p.serverAddress], p.mtu);
    });
    options.setUp?.(this.clientHost, this.serverHost);
    const client = apps.client(this.clientHost);
    const server = apps.server(this.serverHost);
    const [clientName, serverName] = options.names ?? ['client', 'server'];
    this.client = this.net.addHost(clientName, client);
    this.server = this.net.addHost(serverName, server);
    this.paths = options.paths.map((p, i) => this.net.connect([this.client, i], [this.server, i], p.link ?? {}));
  }

  /** The current virtual time. */
  get now(): Micros {
    return this.net.now;
  }

  /** Tells the network that both hosts changed from outside (the client first): their output is sent now. */
  wake(): void {
    this.net.wake(this.client);
    this.net.wake(this.server);
  }

  /** Tells the network that the client host changed from outside (a connect, a write, a new subflow). */
  wakeClient(): void {
    this.net.wake(this.client);
  }

  /** Tells the network that the server host changed from outside. */
  wakeServer(): void {
    this.net.wake(this.server);
  }

  /** Runs the next event of the network; false when none is left. */
  step(): boolean {
    return this.net.step();
  }

  /** Runs every event up to `until` (absolute virtual time); returns how many ran. */
  run(until: Micros): number {
    return this.net.run(until);
  }

  /** Runs every event of the next `duration` of virtual time; returns how many ran. */
  runFor(duration: Micros): number {
    return this.net.runFor(duration);
  }

  /**
   * Runs `sliceMicros` of virtual time at a time until `done()` holds or `limitMicros` have passed; returns
   * whether `done()` holds.
   */
  drive(done: () => boolean, limitMicros: Micros, sliceMicros: Micros = 10_000): boolean {
    const end = this.net.now + limitMicros;
    while (!done() && this.net.now < end) this.net.runFor(sliceMicros);
    return done();
  }

  /** Runs until nothing is left to do, at most to `maxTime` (absolute) and `maxEvents` events; says which stopped it. */
  driveBounded(maxTime: Micros, maxEvents: number): DriveResult {
    return this.net.driveBounded(maxTime, maxEvents);
  }
}
