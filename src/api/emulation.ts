/**
 * Hosts of this stack on the emulator, paced by the wall clock: virtual time follows real time, so tools
 * written for real sockets and timers (perf, applications) run unchanged with both ends in one process and
 * links with any rate, delay, loss or outage. One timer for the whole network, armed at the next event.
 *
 * For deterministic tests use the emulator directly in virtual time (src/emu/bulk.ts); this is for
 * interactive runs, where the wall clock is the point.
 */
import { Network } from '../emu/network.js';
import type { EmuHost } from '../emu/network.js';
import type { LinkConfig } from '../emu/link.js';
import { monotonicMicros } from '../io/driver.js';
import type { Micros } from '../tcp/types.js';
import { createHost, HostSockets, type RuntimeOptions } from './runtime.js';

/** Hosts on an emulated network running in real time. */
export class RealtimeEmulation {
  readonly network: Network;
  private readonly origin = monotonicMicros();
  private timer: NodeJS.Timeout | undefined;
  private timerAt: Micros | undefined;
  private closed = false;
  private readonly hosts: HostSockets[] = [];
  private readonly emuHosts = new Map<string, EmuHost>();

  constructor(seed = 1) {
    this.network = new Network({ seed });
  }

  /** Virtual now: microseconds of wall time since this emulation started. */
  now(): Micros {
    return monotonicMicros() - this.origin;
  }

  /** Adds a host with interfaces (CIDR lists, in interface-id order); returns its sockets. */
  addHost(name: string, interfaces: readonly (readonly string[])[], options: RuntimeOptions = {}): HostSockets {
    const host = createHost({ ...options, name });
    for (const [i, cidrs] of interfaces.entries()) host.addInterface(`eth${i}`, cidrs);
    let emuHost: EmuHost | undefined;
    const sockets = new HostSockets(host, () => this.now(), () => {
      if (emuHost) this.network.wake(emuHost);
      this.pump();
    });
    emuHost = {
      handlePacket: (now, ifaceId, bytes) => {
        host.handlePacket(now, ifaceId, bytes);
        sockets.dispatchEvents();
      },
      handleTimeout: (now) => {
        host.handleTimeout(now);
        sockets.dispatchEvents();
      },
      pollTransmit: (now) => host.pollTransmit(now),
      pollTimeout: () => host.pollTimeout(),
    };
    this.network.addHost(name, emuHost);
    this.emuHosts.set(name, emuHost);
    this.hosts.push(sockets);
    return sockets;
  }

  /** Joins interface `aIface` of host `a` and `bIface` of `b` (by the names given to addHost). */
  connect(a: string, aIface: number, b: string, bIface: number, forward: LinkConfig, backward: LinkConfig = forward) {
    return this.network.connect([this.hostByName(a), aIface], [this.hostByName(b), bIface], { config: forward, backward });
  }

  /** Stops the timer and every host. */
  close(): void {
    this.closed = true;
    for (const h of this.hosts) h.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs every event due by now, then arms one timer for the next. */
  private pump(): void {
    if (this.closed) return;
    this.network.run(Math.max(this.now(), this.network.now));
    const next = this.network.sim.nextEventTime();
    if (next === undefined) return;
    if (this.timer && this.timerAt === next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.pump();
    }, Math.max(0, Math.ceil((next - this.now()) / 1000)));
  }

  private hostByName(name: string): EmuHost {
    const host = this.emuHosts.get(name);
    if (!host) throw new Error(`no host named ${name}`);
    return host;
  }
}
