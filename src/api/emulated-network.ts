/**
 * An in-process emulated network of stacks, for tests and demos of applications: `createStack({ network })`
 * puts a stack on it and `network.link(...)` joins two of them with an emulated link per direction (rate,
 * delay, jitter, loss, queue, MTU, up/down timeline, Mahimahi traces: `LinkConfig` of the emulator). Several
 * links between the same two stacks are several paths for MPTCP.
 *
 * The network runs on the wall clock (virtual time follows real time; one timer for the whole network, armed
 * at the next event), because the sockets are Node streams that applications drive from the event loop. It
 * holds the process exactly while one of its stacks does (see ./stack.ts); `close()` closes every stack and
 * stops the timer. For runs in virtual time, bit for bit reproducible, use the emulator itself (the "./emu"
 * export: `Network`, with `Host`s of the sans-IO core).
 */
import type { DuplexLink } from '../emu/network.js';
import type { Link, LinkConfig } from '../emu/link.js';
import type { Host } from '../stack/host.js';
import { RealtimeEmulation } from './emulation.js';
import type { HostSockets } from './runtime.js';
import { describeInterface, Stack, type StackBackend, type StackInterface, type StackNetwork, type StackOptions } from './stack.js';

/** Options of `createEmulatedNetwork`. */
export interface EmulatedNetworkOptions {
  /** Seed of every link's random stream (loss, jitter, reordering); default 1. */
  readonly seed?: number;
}

/** One end of `network.link`: a new interface of `stack`. */
export interface LinkEnd {
  /** A stack created with `{ network }` on this network. */
  readonly stack: Stack;
  /** The interface's addresses, CIDR ("198.18.1.1/24", or a list with IPv6 too). */
  readonly address: string | readonly string[];
  /** Interface name; default "ethN". */
  readonly name?: string;
  /** Interface MTU; default 1500. */
  readonly mtu?: number;
}

/** A link made by `network.link`: one emulated direction each way, between two new interfaces. */
export interface EmulatedLink {
  /** From the first end to the second, and back (counters, taps, state). */
  readonly forward: Link;
  readonly backward: Link;
  /** The new interfaces: the first end's, then the second's. */
  readonly interfaces: readonly [StackInterface, StackInterface];
  /** Takes both directions down (packets are dropped, as on a cut cable) or up again. */
  setUp(up: boolean): void;
}

interface Member {
  readonly name: string;
  readonly sockets: HostSockets;
}

/** Stacks joined by emulated links, in real time. Made by `createEmulatedNetwork()`. */
export class EmulatedNetwork implements StackNetwork {
  /** The real-time emulation under this network (its `network` is the emulator's `Network`). */
  readonly emulation: RealtimeEmulation;
  readonly #members = new Map<Host, Member>();
  readonly #stacks: Stack[] = [];
  #closing: Promise<void> | undefined;

  /** Use `createEmulatedNetwork()`. */
  constructor(options: EmulatedNetworkOptions = {}) {
    this.emulation = new RealtimeEmulation(options.seed ?? 1, { unrefWhenIdle: true });
  }

  /** Virtual now in microseconds (wall-clock time since the network was created). */
  get now(): number {
    return this.emulation.now();
  }

  /** A stack on this network: `createStack({ ...options, network: this })`. */
  createStack(options: Omit<StackOptions, 'network'> = {}): Stack {
    return new Stack({ ...options, network: this });
  }

  /** @internal The backend of a stack created with `{ network: this }` (called by `Stack`'s constructor). */
  attachStack(stack: Stack, options: StackOptions): StackBackend {
    if (this.#closing) throw new Error('the emulated network is closed');
    const name = options.name;
    const taken = new Set([...this.#members.values()].map((m) => m.name));
    let unique = name ?? 'stack';
    if (name === undefined) for (let i = 1; taken.has(unique); i++) unique = `stack${i}`;
    else if (taken.has(unique)) throw new Error(`a stack named ${unique} is already on this network`);
    const sockets = this.emulation.addHost(unique, [], {
      ...(options.tcp ? { tcp: options.tcp } : {}),
      ...(options.secret ? { secret: options.secret } : {}),
    });
    this.#members.set(sockets.host, { name: unique, sockets });
    this.#stacks.push(stack);
    return {
      sockets,
      realtime: undefined,
      follow: () => undefined,
      shutdown: async () => {
        sockets.stop();
      },
    };
  }

  /**
   * Joins a new interface of `a.stack` and one of `b.stack` with a link: `forward` configures the
   * direction from `a` to `b`, `backward` the other (default the same as `forward`). Both default to the
   * emulator's defaults (no rate limit, no delay, no loss). Returns the link, to take it down and up.
   */
  link(a: LinkEnd, b: LinkEnd, forward: LinkConfig = {}, backward: LinkConfig = forward): EmulatedLink {
    if (a.stack === b.stack) throw new Error('a link joins two different stacks');
    const ma = this.#member(a.stack);
    const mb = this.#member(b.stack);
    const ia = this.#addInterface(ma, a);
    const ib = this.#addInterface(mb, b);
    const pair: DuplexLink = this.emulation.connect(ma.name, ia, mb.name, ib, forward, backward);
    return {
      forward: pair.forward,
      backward: pair.backward,
      interfaces: [describeInterface(ma.sockets.host, ia), describeInterface(mb.sockets.host, ib)],
      setUp: (up) => {
        pair.forward.setState(up ? 'up' : 'down');
        pair.backward.setState(up ? 'up' : 'down');
        this.emulation.poke();
      },
    };
  }

  /**
   * Closes every stack of the network (each as `stack.close()` does: FINs, a bounded wait, resets for the
   * rest) and then stops the network's timer. Resolves when done; calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(this.#stacks.map((s) => s.close()));
      this.emulation.close();
    })();
    return this.#closing;
  }

  #member(stack: Stack): Member {
    const m = this.#members.get(stack.host);
    if (!m) throw new Error(`stack ${stack.name} is not on this network (create it with createStack({ network }))`);
    return m;
  }

  #addInterface(member: Member, end: LinkEnd): number {
    const addresses = typeof end.address === 'string' ? [end.address] : end.address;
    const host = member.sockets.host;
    return host.addInterface(end.name ?? `eth${host.routing.interfaces.length}`, addresses, end.mtu ?? 1500).id;
  }
}

/** Creates an in-process emulated network; put stacks on it with `createStack({ network })`. */
export function createEmulatedNetwork(options: EmulatedNetworkOptions = {}): EmulatedNetwork {
  return new EmulatedNetwork(options);
}
