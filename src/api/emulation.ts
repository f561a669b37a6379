/**
 * Hosts of this stack on the emulator, paced by the wall clock: virtual time follows real time, so tools
 * written for real sockets and timers (perf, applications) run unchanged with both ends in one process and
 * links with any rate, delay, loss or outage. One timer for the whole network, armed at the next event.
 *
 * For deterministic tests use the emulator directly in virtual time (src/harness/bulk.ts); this is for
 * interactive runs, where the wall clock is the point.
 */
import { Network } from '../emu/network.js';
import type { DuplexLink, EmuHost } from '../emu/network.js';
import type { LinkConfig } from '../emu/link.js';
import { monotonicMicros } from '../io/driver.js';
import type { Micros } from '../tcp/types.js';
import { createHost, HostSockets, type RuntimeOptions } from './runtime.js';

/** Options of a `RealtimeEmulation`. */
export interface RealtimeEmulationOptions {
  /**
   * The emulation's timer keeps the process alive only while one of its hosts `holdsProcess` (a server
   * listening, a socket open, a closed socket's data in flight), as node:net's handles do; default false.
   */
  readonly unrefWhenIdle?: boolean;
}

/** Hosts on an emulated network running in real time. */
export class RealtimeEmulation {
  /** The emulated network (links by name in `network.links`). */
  readonly network: Network;
  private readonly origin = monotonicMicros();
  private timer: NodeJS.Timeout | undefined;
  private timerAt: Micros | undefined;
  private closed = false;
  private readonly hosts: HostSockets[] = [];
  private readonly emuHosts = new Map<string, EmuHost>();
  private readonly unrefWhenIdle: boolean;
  /** Sum over timer firings of how late each ran its events (wall time past the event's virtual time). */
  private lateMicros = 0;

  /** A network whose links draw their randomness from `seed`. */
  constructor(seed = 1, options: RealtimeEmulationOptions = {}) {
    this.network = new Network({ seed });
    this.unrefWhenIdle = options.unrefWhenIdle ?? false;
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
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
    // A stopped host is a machine switched off: it neither reads, sends nor keeps timers.
    emuHost = {
      handlePacket: (now, ifaceId, bytes) => {
        if (sockets.isStopped) return;
        host.handlePacket(now, ifaceId, bytes);
        sockets.dispatchEvents();
      },
      handleTimeout: (now) => {
        if (sockets.isStopped) return;
        host.handleTimeout(now);
        sockets.dispatchEvents();
      },
      pollTransmit: (now) => (sockets.isStopped ? undefined : host.pollTransmit(now)),
      pollTimeout: () => (sockets.isStopped ? undefined : host.pollTimeout()),
    };
    this.network.addHost(name, emuHost);
    this.emuHosts.set(name, emuHost);
    this.hosts.push(sockets);
    if (this.unrefWhenIdle) sockets.onHoldChange(() => this.applyHold());
    return sockets;
  }

  /** Runs what is due after a change made from outside (a link set up or down), and re-arms the timer. */
  poke(): void {
    this.pump();
  }

  /** Whether a host of this emulation keeps the process alive (with `unrefWhenIdle`). */
  get holdsProcess(): boolean {
    return !this.unrefWhenIdle || this.hosts.some((h) => h.holdsProcess);
  }

  private applyHold(): void {
    if (!this.timer) return;
    if (this.holdsProcess) this.timer.ref();
    else this.timer.unref();
  }

  /** Joins interface `aIface` of host `a` and `bIface` of `b` (by the names given to addHost). */
  connect(a: string, aIface: number, b: string, bIface: number, forward: LinkConfig, backward: LinkConfig = forward): DuplexLink {
    return this.network.connect([this.hostByName(a), aIface], [this.hostByName(b), bIface], { config: forward, backward });
  }

  /** Stops the timer and every host. */
  close(): void {
    this.closed = true;
    for (const h of this.hosts) h.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Microseconds by which the emulation ran behind the wall clock so far, summed over its timer firings (an
   * event due at T handled at T + d adds d). Growing as fast as time passes: the process cannot keep up.
   */
  get lagMicros(): Micros {
    return this.lateMicros;
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
      const late = this.now() - next;
      if (late > 0) this.lateMicros += late;
      this.timerAt = undefined;
      this.pump();
    }, Math.max(0, Math.ceil((next - this.now()) / 1000)));
    if (!this.holdsProcess) this.timer.unref();
  }

  private hostByName(name: string): EmuHost {
    const host = this.emuHosts.get(name);
    if (!host) throw new Error(`no host named ${name}`);
    return host;
  }
}
