/**
 * `mptcp emulate`'s engine: emulated links between two existing network namespaces, a netem replacement
 * for machines without `tc netem` (issue 10). For each path it creates one TUN device in each namespace
 * (this process keeps both file descriptors), gives them their addresses and brings them up; every IP
 * packet one kernel sends through its device is offered to the path's emulated link of that direction
 * (src/emu/link.ts: the same core as the virtual-time runs, configured by the same words,
 * src/emu/link-spec.ts), and written to the other device when the link delivers it.
 *
 * Time: the links run on a `Simulator` whose clock follows the wall clock (microseconds since the devices
 * came up, so `down=2-4` counts from `ready`). One driver, one timer: each batch of packets read advances the
 * simulator to now (delivering what is due) and offers the packets; the timer is armed at the next event.
 * Node's timers have millisecond resolution and fire late rather than early, so the timer is armed for
 * the whole milliseconds before the event and the rest is waited out with setImmediate turns (an event
 * is delivered within a few tens of microseconds of its instant on an idle machine, instead of up to 1 ms
 * late: that would add 2 ms to every round trip).
 *
 * Teardown: `close()` closes the TUN fds, which deletes the devices in whatever namespace they are; the
 * kernel does the same when the process dies in any way (even SIGKILL), so the devices never outlive it.
 */
import { Link, DROP_CAUSES, type DropCause } from '../emu/link.js';
import { directionConfig, LinkSpecError, parseLinkSpec, defaultLinkSpec, type LinkSpec } from '../emu/link-spec.js';
import { Rng } from '../emu/random.js';
import { Simulator } from '../emu/sim.js';
import { loadMahimahiTrace } from '../emu/trace-file.js';
import type { SnapLength } from '../capture/writer.js';
import { CaptureFile } from './capture-file.js';
import { parseCidr } from '../wire/address.js';
import { monotonicMicros } from './driver.js';
import { linkExists, namespaceExists, runIp } from './netns.js';
import { TunDevice, tunAvailable } from './tun.js';
import type { Micros } from '../time/micros.js';

/** One `--path`: the two kernels' addresses and the link between them. */
export interface EmulatePath {
  /** The text as given (for messages). */
  readonly text: string;
  /** Address/prefix of the left namespace's device, e.g. 198.18.1.1/24. */
  readonly leftCidr: string;
  readonly rightCidr: string;
  /** 4 or 6. */
  readonly family: 4 | 6;
  readonly link: LinkSpec;
}

/**
 * Parses `LEFT_CIDR,RIGHT_CIDR[,LINK WORDS]` (the link words of `parseLinkSpec`; none: its defaults).
 * Never throws.
 */
export function parsePathSpec(text: string): EmulatePath | LinkSpecError {
  const parts = text.split(',');
  if (parts.length < 2 || parts[0]!.includes('=') || parts[1]!.includes('=')) {
    return new LinkSpecError(`expected LEFT_CIDR,RIGHT_CIDR[,KEY=VALUE...], e.g. 198.18.1.1/24,198.18.1.2/24,rate=10M,delay=20ms`);
  }
  const [leftCidr, rightCidr] = [parts[0]!.trim(), parts[1]!.trim()];
  const left = parseCidr(leftCidr);
  const right = parseCidr(rightCidr);
  for (const [name, cidr, parsed] of [['LEFT_CIDR', leftCidr, left], ['RIGHT_CIDR', rightCidr, right]] as const) {
    if (parsed === undefined || !/\/\d{1,3}$/.test(cidr)) return new LinkSpecError(`${name} '${cidr}': expected an address with its prefix length, e.g. 198.18.1.1/24 or 2001:2:0:1::1/64`);
  }
  if (left!.address.length !== right!.address.length) return new LinkSpecError(`'${leftCidr}' and '${rightCidr}' are not of one IP version`);
  if (left!.address.every((b, i) => b === right!.address[i])) return new LinkSpecError(`both ends have the address ${leftCidr.split('/')[0]}`);
  const rest = parts.slice(2).join(',');
  const link = parts.length === 2 ? defaultLinkSpec() : parseLinkSpec(rest);
  if (link instanceof LinkSpecError) return link;
  return { text, leftCidr, rightCidr, family: left!.address.length === 4 ? 4 : 6, link };
}

/** Per-direction counts of a path. */
export interface DirectionCounts {
  readonly packets: number;
  readonly bytes: number;
  readonly delivered: number;
  readonly deliveredBytes: number;
  /** Admitted and not yet delivered when counted (queued, serializing or propagating). */
  readonly inFlight: number;
  /** Drops by the link (cause) and by the receiving device (`write`: its queue was full). */
  readonly dropped: Readonly<Record<DropCause | 'write', number>>;
}

/** What one path carried. */
export interface PathCounts {
  readonly path: EmulatePath;
  readonly leftDevice: string;
  readonly rightDevice: string;
  readonly up: DirectionCounts;
  readonly down: DirectionCounts;
}

/** Why the emulator could not start (a missing namespace, no root, a device that cannot be made). */
export class EmulateError extends Error {}

/** Options of `KernelLinkEmulator.start`. */
export interface EmulateOptions {
  /** Existing network namespace of the left kernel (`ip netns add`). */
  readonly left: string;
  readonly right: string;
  readonly paths: readonly EmulatePath[];
  /** Seed of the links' random streams (loss, jitter...); default 1. */
  readonly seed?: number;
  /** Write what crossed every path (delivered packets, both directions) to this pcap file (./capture-file.ts). */
  readonly pcapFile?: string;
  /** Bytes kept of each packet in `pcapFile` (default `headers`: IP and TCP headers with options). */
  readonly pcapSnapLength?: SnapLength;
  /** Device name prefix (default `em<pid>`): devices are PREFIX l N / PREFIX r N. */
  readonly devicePrefix?: string;
}

interface PathState {
  readonly path: EmulatePath;
  readonly left: TunDevice;
  readonly right: TunDevice;
  up: Link | undefined;
  down: Link | undefined;
  writeFailedUp: number;
  writeFailedDown: number;
  /** Serialization time per byte of each direction (0: no fixed rate), for arrival estimates. */
  upMicrosPerByte: number;
  downMicrosPerByte: number;
  /** When each device was last read (its queue empty then). */
  leftDrainedAt: Micros;
  rightDrainedAt: Micros;
}

/** Says why emulate cannot run here, or undefined: root/TUN, the namespaces, iproute2. */
export function emulatePreflight(left: string, right: string): string | undefined {
  if (process.platform !== 'linux') return `network namespaces and TUN devices are Linux-only (this is ${process.platform})`;
  const uid = process.getuid?.();
  const tun = tunAvailable();
  if (!tun.ok) return uid !== 0 ? `needs root (CAP_NET_ADMIN) to create TUN devices and configure namespaces; running as uid ${uid}` : tun.reason;
  if (runIp(['-V']).error) return 'the ip command (iproute2) is not installed';
  for (const [side, ns] of [['--left', left], ['--right', right]] as const) {
    if (!namespaceExists(ns)) return `${side} ${ns}: no such network namespace (create it with: ip netns add ${ns})`;
  }
  if (left === right) return `--left and --right are the same namespace (${left}): the two kernels need one each`;
  return undefined;
}

/** Most packets read from a device per event-loop turn: more than a fast sender's window, so one read drains it. */
const READ_BATCH = 2048;

/** TUN device queue length in the namespaces (as perf's TUN interfaces): a burst of a fast sender fits. */
const TXQUEUELEN = '10000';

/**
 * Runs emulated links between two namespaces until `close()`. Start with `KernelLinkEmulator.start`, which
 * returns once every device is up (the moment the CLI prints `ready`).
 */
export class KernelLinkEmulator {
  /** Microseconds of the simulator's clock: wall time since the devices came up. */
  private readonly sim: Simulator;
  private origin: Micros = 0;
  private readonly states: PathState[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private timerAt: Micros | undefined;
  private closed = false;
  private pcap: CaptureFile | undefined;
  /** Wake-ups with a delivery due, and how late the earliest due one was (µs): the emulator's own error. */
  private lateWakeups = 0;
  private lateSumMicros = 0;
  private lateMaxMicros = 0;
  private arrivals = new Float64Array(256);

  private constructor() {
    this.sim = new Simulator(0);
  }

  /**
   * Creates, moves, addresses and brings up every device, then starts the links (their time 0 is now).
   * Throws `EmulateError` (everything created so far removed) when that fails.
   */
  static start(options: EmulateOptions): KernelLinkEmulator {
    const why = emulatePreflight(options.left, options.right);
    if (why !== undefined) throw new EmulateError(why);
    if (options.paths.length === 0) throw new EmulateError('no --path given');
    const emu = new KernelLinkEmulator();
    try {
      emu.setUp(options);
    } catch (err) {
      emu.close();
      throw err instanceof EmulateError ? err : new EmulateError((err as Error).message);
    }
    return emu;
  }

  private setUp(options: EmulateOptions): void {
    const prefix = options.devicePrefix ?? `em${process.pid}`;
    // Configuration first (trace files read, so a bad file fails before any device exists).
    const configs = options.paths.map((p) => {
      try {
        return { up: directionConfig(p.link, 'up', (f) => loadMahimahiTrace(f)), down: directionConfig(p.link, 'down', (f) => loadMahimahiTrace(f)) };
      } catch (err) {
        throw new EmulateError(`--path '${p.text}': ${(err as Error).message}`);
      }
    });
    const rng = new Rng(options.seed ?? 1);
    options.paths.forEach((path, i) => {
      const names = [`${prefix}l${i}`, `${prefix}r${i}`] as const;
      for (const [name, ns] of [[names[0], options.left], [names[1], options.right]] as const) {
        if (linkExists(name) || linkExists(name, ns)) throw new EmulateError(`an interface named ${name} already exists`);
      }
      let state: PathState | undefined;
      const open = (name: string, onPackets: (packets: Buffer[]) => void): TunDevice => {
        try {
          return TunDevice.open(name, { onPackets, onError: () => undefined, batchLimit: READ_BATCH });
        } catch (err) {
          throw new EmulateError(`cannot create TUN device ${name}: ${(err as Error).message}`);
        }
      };
      const left = open(names[0], (packets) => this.receive(state, packets, true));
      let right: TunDevice;
      try {
        right = open(names[1], (packets) => this.receive(state, packets, false));
      } catch (err) {
        left.close();
        throw err;
      }
      const perByte = (rate: number | undefined): number => (rate === undefined || !Number.isFinite(rate) ? 0 : 8e6 / rate);
      state = {
        path,
        left,
        right,
        up: undefined,
        down: undefined,
        writeFailedUp: 0,
        writeFailedDown: 0,
        upMicrosPerByte: perByte(path.link.up.rateBitsPerSecond),
        downMicrosPerByte: perByte(path.link.down.rateBitsPerSecond),
        leftDrainedAt: 0,
        rightDrainedAt: 0,
      };
      this.states.push(state);
      const mtu = path.link.up.mtu ?? path.link.down.mtu;
      for (const [device, ns, cidr] of [[left, options.left, path.leftCidr], [right, options.right, path.rightCidr]] as const) {
        ip(['link', 'set', 'dev', device.name, 'netns', ns]);
        ip(path.family === 6 ? ['-6', 'addr', 'add', cidr, 'dev', device.name, 'nodad'] : ['addr', 'add', cidr, 'dev', device.name], ns);
        ip(['link', 'set', 'dev', device.name, 'txqueuelen', TXQUEUELEN, ...(mtu !== undefined ? ['mtu', String(mtu)] : []), 'up'], ns);
      }
    });
    if (options.pcapFile !== undefined) {
      try {
        this.pcap = CaptureFile.open(options.pcapFile, options.pcapSnapLength !== undefined ? { snapLength: options.pcapSnapLength } : {});
      } catch (err) {
        throw new EmulateError(`--pcap: ${(err as Error).message}`);
      }
    }
    // Time 0 of every link (outages, traces) is now: every device is up.
    this.origin = monotonicMicros();
    const epoch = Date.now() * 1000;
    const pcap = this.pcap;
    this.states.forEach((s, i) => {
      s.up = new Link(this.sim, configs[i]!.up, { name: `path${i}-up`, rng: rng.fork(`path${i}-up`) });
      s.down = new Link(this.sim, configs[i]!.down, { name: `path${i}-down`, rng: rng.fork(`path${i}-down`) });
      s.up.setReceiver((_, bytes) => {
        if (!this.closed && !writePacket(s.right, bytes)) s.writeFailedUp++;
      });
      s.down.setReceiver((_, bytes) => {
        if (!this.closed && !writePacket(s.left, bytes)) s.writeFailedDown++;
      });
      if (pcap) {
        const tap = { onDeliver: (now: Micros, bytes: Uint8Array) => pcap.writePacket(epoch + now, bytes) };
        s.up.addTap(tap);
        s.down.addTap(tap);
      }
    });
    this.pump();
  }

  /** The simulator's now: wall-clock microseconds since the devices came up. */
  private now(): Micros {
    return monotonicMicros() - this.origin;
  }

  private receive(state: PathState | undefined, packets: Buffer[], fromLeft: boolean): void {
    if (this.closed || state === undefined) return;
    const link = fromLeft ? state.up : state.down;
    if (link === undefined) return; // before the links start: nothing is up yet
    const now = this.advance();
    // Arrival instants: a batch read at `now` arrived after the device was last drained, and (the estimate)
    // as late as possible without coming in faster than the link's rate. Without it a batch that waited
    // in the device while this process was descheduled would hit the link's queue all in one instant and
    // overflow it, a burst the sender never sent.
    const n = packets.length;
    const microsPerByte = fromLeft ? state.upMicrosPerByte : state.downMicrosPerByte;
    const drainedAt = fromLeft ? state.leftDrainedAt : state.rightDrainedAt;
    if (n === 1 || microsPerByte === 0) {
      for (let i = 0; i < n; i++) link.offer(packets[i]!);
    } else {
      let arrivals = this.arrivals;
      if (arrivals.length < n) arrivals = this.arrivals = new Float64Array(Math.max(n, arrivals.length * 2));
      let t = now;
      for (let i = n - 1; i >= 0; i--) {
        arrivals[i] = t;
        t -= packets[i]!.length * microsPerByte;
      }
      for (let i = 0; i < n; i++) link.offer(packets[i]!, Math.max(drainedAt, Math.floor(arrivals[i]!)));
    }
    // A full batch left packets in the device: they arrived before now, after these.
    const drained = n < READ_BATCH ? now : Math.floor(arrivals(this.arrivals, n));
    if (fromLeft) state.leftDrainedAt = drained;
    else state.rightDrainedAt = drained;
    this.arm();
  }

  /** Delivers everything due, then arms the one timer for the next event. */
  private pump(): void {
    this.timer = undefined;
    this.immediate = undefined;
    this.timerAt = undefined;
    if (this.closed) return;
    this.advance();
    this.arm();
  }

  /** Runs the simulator to now, noting how late the earliest due event is run. */
  private advance(): Micros {
    const now = Math.max(this.now(), this.sim.now);
    const due = this.sim.nextEventTime();
    if (due !== undefined && due <= now) {
      const late = now - due;
      this.lateWakeups++;
      this.lateSumMicros += late;
      if (late > this.lateMaxMicros) this.lateMaxMicros = late;
    }
    this.sim.run(now);
    return now;
  }

  /** How late deliveries ran behind their instants: wake-ups with one due, mean and max lateness (µs). */
  lateness(): { readonly wakeups: number; readonly meanMicros: number; readonly maxMicros: number } {
    return { wakeups: this.lateWakeups, meanMicros: this.lateWakeups > 0 ? this.lateSumMicros / this.lateWakeups : 0, maxMicros: this.lateMaxMicros };
  }

  private arm(): void {
    const next = this.sim.nextEventTime();
    if (next === undefined || this.closed) return;
    if (this.timerAt !== undefined && this.timerAt <= next) return;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.timerAt = next;
    const wholeMs = Math.floor((next - this.now()) / 1000);
    if (wholeMs >= 1) this.timer = setTimeout(() => this.pump(), wholeMs);
    else this.immediate = setImmediate(() => this.pump());
  }

  /** Counts so far, per path. */
  counts(): PathCounts[] {
    const direction = (link: Link | undefined, writeFailed: number): DirectionCounts => {
      const c = link?.counters;
      const dropped = Object.fromEntries(DROP_CAUSES.map((cause) => [cause, c?.droppedPackets[cause] ?? 0])) as Record<DropCause, number>;
      return {
        packets: c?.offeredPackets ?? 0,
        bytes: c?.offeredBytes ?? 0,
        delivered: (c?.deliveredPackets ?? 0) - writeFailed,
        deliveredBytes: c?.deliveredBytes ?? 0,
        inFlight: link?.inFlightPackets ?? 0,
        dropped: { ...dropped, write: writeFailed },
      };
    };
    return this.states.map((s) => ({
      path: s.path,
      leftDevice: s.left.name,
      rightDevice: s.right.name,
      up: direction(s.up, s.writeFailedUp),
      down: direction(s.down, s.writeFailedDown),
    }));
  }

  /** Device names per path, [left, right]. */
  get devices(): Array<readonly [string, string]> {
    return this.states.map((s) => [s.left.name, s.right.name] as const);
  }

  /** Stops the links, removes every device (closing its fd deletes it) and finishes the capture. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    for (const s of this.states) {
      s.left.close();
      s.right.close();
    }
    try {
      this.pcap?.close();
    } finally {
      this.pcap = undefined;
    }
  }
}

/**
 * Writes a delivered packet to a device; false when the device refused it (queue full, or an error such as
 * EIO while someone set the device down): the packet is lost, as on a real link, and counted.
 */
function writePacket(device: TunDevice, bytes: Uint8Array): boolean {
  try {
    return device.write(bytes);
  } catch {
    return false;
  }
}

/** The last arrival estimate of a batch of n (the batch's own arrivals were written from index 0). */
function arrivals(estimates: Float64Array, n: number): number {
  return estimates[n - 1] ?? 0;
}

/** `ip [-n NS] ARGS` that must succeed; an EmulateError with ip's own message otherwise. */
function ip(args: readonly string[], netns?: string): void {
  const r = runIp(args, netns);
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error?.message ?? ((r.stderr || r.stdout).trim() || `exit ${r.status ?? r.signal}`);
    throw new EmulateError(`ip ${r.args.join(' ')}: ${why.split('\n')[0]}`);
  }
}
