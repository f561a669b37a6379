/**
 * Emulator adapters for a stack `Host`: an `EmuHost` that feeds the host the network's packets and timers
 * and, after every input, hands the host's events to an application callback. `AppHost` delivers the TCP
 * host events (`pollEvent`); `MptcpApp` the MPTCP ones (`pollMptcpEvent`: accepted connections and
 * connection events), optionally followed by the TCP ones. Used by the bulk transfers, the demo, the
 * benchmarks and the emulator tests.
 */
import type { EmuHost } from '../emu/network.js';
import type { Micros } from '../time/micros.js';
import type { Host, HostEvent } from '../stack/host.js';
import type { MptcpConnection, StreamConnection } from '../mptcp/connection.js';
import type { TcpEvent } from '../tcp/types.js';

/** Drives a `Host` on the emulator; subclasses say which events go where (`drain`). */
export abstract class HostApp implements EmuHost {
  /** Virtual time of the latest input. */
  now: Micros = 0;
  /** Sees every packet before the host does (tests record options with it). */
  beforePacket: ((bytes: Uint8Array) => void) | undefined;

  constructor(readonly host: Host) {}

  handlePacket(now: Micros, ifaceId: number, bytes: Uint8Array): void {
    this.now = now;
    this.beforePacket?.(bytes);
    this.host.handlePacket(now, ifaceId, bytes);
    this.drain(now);
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
  abstract drain(now?: Micros): void;
}

/** An EmuHost that runs an application callback on every TCP host event, right after each input. */
export class AppHost extends HostApp {
  constructor(
    host: Host,
    private readonly onEvent: (now: Micros, event: HostEvent) => void,
    /** Called after every input, after events: lets the application act on state (e.g. resume reading). */
    private readonly afterInput: (now: Micros) => void = () => {},
  ) {
    super(host);
  }

  drain(now: Micros = this.now): void {
    for (let e = this.host.pollEvent(); e; e = this.host.pollEvent()) this.onEvent(now, e);
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
  /** Also plain-TCP connections' events (`pollEvent`), after the MPTCP ones (e.g. a listener without MPTCP). */
  constructor(host: Host, onEvent: StreamAppHandler, options: { readonly tcpEvents: true });
  constructor(host: Host, onEvent: MptcpAppHandler | StreamAppHandler, options?: { readonly tcpEvents: true }) {
    super(host);
    // Without tcpEvents only MptcpConnections are passed, which an MptcpAppHandler takes.
    this.onEvent = onEvent as StreamAppHandler;
    this.tcpEvents = options?.tcpEvents ?? false;
  }

  drain(now: Micros = this.now): void {
    for (let e = this.host.pollMptcpEvent(); e; e = this.host.pollMptcpEvent()) {
      if (e.type === 'mptcpConnection') this.onEvent(e.connection, 'accepted', now);
      else this.onEvent(e.connection, e.event, now);
    }
    if (!this.tcpEvents) return;
    for (let e = this.host.pollEvent(); e; e = this.host.pollEvent()) {
      if (e.type === 'connection') this.onEvent(e.connection, 'accepted', now);
      else this.onEvent(e.connection, e.event, now);
    }
  }
}
