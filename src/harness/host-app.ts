/**
 * Emulator adapters for a stack `Host`: an `EmuHost` that feeds the host the network's packets and timers
 * and, after every input, hands the host's events (`pollEvent`) to an application callback. `AppHost` passes
 * every connection event as it is; `MptcpApp` the MPTCP connections' (accepted connections and connection
 * events), and the plain-TCP ones if asked. Both keep the monitor events (`monitor`) for whoever wants
 * them. Used by the bulk transfers, the demo, the benchmarks and the emulator tests.
 */
import type { EmuHost } from '../emu/network.js';
import type { Micros } from '../time/micros.js';
import type { Host, HostConnectionEvent } from '../stack/host.js';
import { MonitorLog } from '../stack/events.js';
import type { MptcpConnection, StreamConnection } from '../mptcp/connection.js';
import type { TcpEvent } from '../tcp/types.js';

/** Drives a `Host` on the emulator; subclasses say what the application does with each connection event (`deliver`). */
export abstract class HostApp implements EmuHost {
  /** Virtual time of the latest input. */
  now: Micros = 0;
  /** Sees every packet before the host does (tests record options with it). */
  beforePacket: ((bytes: Uint8Array) => void) | undefined;
  /** The host's `ip mptcp monitor` events, in order (the latest 1024 not taken yet). */
  readonly monitor = new MonitorLog();

  constructor(readonly host: Host) {}

  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array, checksumPending = false): void {
    this.now = now;
    this.beforePacket?.(bytes);
    this.host.handlePacket(now, ifaceId, bytes, checksumPending);
    this.drain(now);
  }

  /** The host's (`HostOptions.deferChecksums`). */
  get sendsPendingChecksums(): boolean {
    return this.host.sendsPendingChecksums;
  }

  /** A host that defers checksums takes packets without them, unless `beforePacket` wants to read them. */
  get acceptsPendingChecksums(): boolean {
    return this.host.sendsPendingChecksums && this.beforePacket === undefined;
  }

  handleTimeout(now: Micros): void {
    this.now = now;
    this.host.handleTimeout(now);
    this.drain(now);
  }

  pollTransmit(now: Micros): { ifaceId: number; bytes: Uint8Array } | undefined {
    return this.host.pollTransmit(now);
  }

  pollTimeout(): Micros | undefined {
    return this.host.pollTimeout();
  }

  /** Delivers the host's pending events to the application (default time: the latest input's). */
  drain(now: Micros = this.now): void {
    for (let e = this.host.pollEvent(); e; e = this.host.pollEvent()) {
      if (e.type === 'monitor') this.monitor.push(e.event);
      else this.deliver(now, e);
    }
    this.afterDrain(now);
  }

  /** What the application does with one connection event. */
  protected abstract deliver(now: Micros, event: HostConnectionEvent): void;

  /** After every drain. */
  protected afterDrain(_now: Micros): void {}
}

/** An EmuHost that runs an application callback on every connection event of the host, right after each input. */
export class AppHost extends HostApp {
  constructor(
    host: Host,
    private readonly onEvent: (now: Micros, event: HostConnectionEvent) => void,
    /** Called after every input, after events: lets the application act on state (e.g. resume reading). */
    private readonly afterInput: (now: Micros) => void = () => {},
  ) {
    super(host);
  }

  protected deliver(now: Micros, event: HostConnectionEvent): void {
    this.onEvent(now, event);
  }

  protected override afterDrain(now: Micros): void {
    this.afterInput(now);
  }
}

/** What a `MptcpApp` callback gets: a connection's event, or 'accepted' for a connection a listener accepted. */
export type AppEvent = TcpEvent | 'accepted';
/** A `MptcpApp` callback that sees MPTCP connections only (and those that fell back to TCP). */
export type MptcpAppHandler = (connection: MptcpConnection, event: AppEvent, now: Micros) => void;
/** A `MptcpApp` callback that also sees plain-TCP connections (`tcpEvents: true`). */
export type StreamAppHandler = (connection: StreamConnection, event: AppEvent, now: Micros) => void;

/** An EmuHost handing the host's MPTCP events (accepted connections and connection events) to a callback. */
export class MptcpApp extends HostApp {
  private readonly onEvent: StreamAppHandler;
  private readonly tcpEvents: boolean;

  /** MPTCP connections' events only (including connections that fell back to TCP). */
  constructor(host: Host, onEvent: MptcpAppHandler);
  /** Also plain-TCP connections' events, after the MPTCP ones (e.g. a listener without MPTCP). */
  constructor(host: Host, onEvent: StreamAppHandler, options: { readonly tcpEvents: true });
  constructor(host: Host, onEvent: MptcpAppHandler | StreamAppHandler, options?: { readonly tcpEvents: true }) {
    super(host);
    // Without tcpEvents only MptcpConnections are passed, which an MptcpAppHandler takes.
    this.onEvent = onEvent as StreamAppHandler;
    this.tcpEvents = options?.tcpEvents ?? false;
  }

  protected deliver(now: Micros, e: HostConnectionEvent): void {
    if (e.type === 'mptcpConnection' || (e.type === 'connection' && this.tcpEvents)) this.onEvent(e.connection, 'accepted', now);
    else if (e.type === 'mptcp' || (e.type === 'tcp' && this.tcpEvents)) this.onEvent(e.connection, e.event, now);
  }
}
