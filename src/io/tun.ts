/**
 * Linux TUN devices: real IP packets in and out of the kernel, through the optional native addon
 * (native/tun.c, built by `npm install` into build/Release/tun.node; see scripts/build-native.mjs).
 *
 * Read first: the kernel's Documentation/networking/tuntap.rst. The device is opened with
 * IFF_TUN | IFF_NO_PI, so every read and every write is exactly one IPv4 or IPv6 packet, no prefix; with
 * `offload` also IFF_VNET_HDR, so each one starts with a virtio_net_hdr (./tun-offload.ts).
 *
 * A `TunDevice` reads on the event loop: whenever the fd is readable the addon reads packets until EAGAIN
 * or `batchLimit` (about 1 MB), and hands them to `onPackets` as one array (views of one Buffer per batch). `write` is
 * synchronous. The device exists while its fd is open: `close()` (or the process ending) deletes it. The
 * fd survives moving the device into another network namespace (`ip link set DEV netns NS`), which is how
 * the interop tests put a kernel peer on the other side (see ./netns.ts).
 *
 * Availability is optional by design: `tunAvailable()` says why TUN cannot be used here (addon not built,
 * /dev/net/tun missing, no CAP_NET_ADMIN), and everything else in the stack runs emulated or over UDP.
 */
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * Where the build puts the addon: <package root>/build/Release/tun.node. This file lives in src/io (run
 * through tsx) or dist/io (compiled), both two levels below the package root.
 */
export const DEFAULT_TUN_ADDON_PATH = fileURLToPath(new URL('../../build/Release/tun.node', import.meta.url));

/** The TUN clone device. */
export const TUN_DEVICE_PATH = '/dev/net/tun';

/** Linux capability number of CAP_NET_ADMIN (include/uapi/linux/capability.h), needed for TUNSETIFF. */
const CAP_NET_ADMIN = 12;

/** The addon's object, as native/tun.c defines it. */
interface NativeTun {
  readonly fd: number;
  readonly name: string;
  start(): void;
  stop(): void;
  /** True when the device was opened with IFF_VNET_HDR and the offloads (see `TunOpenOptions.offload`). */
  readonly offload: boolean;
  /** Why offload was asked for and refused by the kernel (the device is then plain). */
  readonly offloadError?: string;
  /** Bytes written, or -errno. */
  write(packet: Uint8Array): number;
  /** Packets written (stopped at EAGAIN), or -errno. */
  writev(parts: readonly Uint8Array[], counts: Uint32Array, packets: number, headers: Uint8Array | null): number;
  getMtu(): number;
  setMtu(mtu: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

interface TunAddon {
  readonly Tun: new (
    name: string | undefined,
    callback: (errno: number | null, slab: Buffer | undefined, ends: Uint32Array | undefined) => void,
    batchLimit?: number,
    offload?: boolean,
  ) => NativeTun;
}

/** Result of an availability check: usable, or the reason it is not, worded for a test-skip message. */
export type Availability = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const requireFromHere = createRequire(import.meta.url);
const addonCache = new Map<string, TunAddon | { readonly reason: string }>();

/** Loads (once per path) the addon, or says why it cannot be loaded. */
function loadAddon(addonPath: string): TunAddon | { readonly reason: string } {
  const cached = addonCache.get(addonPath);
  if (cached) return cached;
  let result: TunAddon | { readonly reason: string };
  if (process.platform !== 'linux') {
    result = { reason: `TUN devices are Linux-only (this is ${process.platform})` };
  } else {
    try {
      statSync(addonPath);
      const loaded = requireFromHere(addonPath) as Partial<TunAddon>;
      result =
        typeof loaded.Tun === 'function'
          ? (loaded as TunAddon)
          : { reason: `TUN addon at ${addonPath} does not export Tun (stale build? run npm install)` };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      result =
        code === 'ENOENT'
          ? {
              reason: `TUN addon not built (${addonPath} is missing; npm install builds it when a C compiler, make, python3 and node-gyp are available)`,
            }
          : { reason: `TUN addon at ${addonPath} does not load: ${(error as Error).message}` };
    }
  }
  addonCache.set(addonPath, result);
  return result;
}

/** Whether this process has CAP_NET_ADMIN in its effective set (undefined if it cannot tell). */
function hasNetAdmin(): boolean | undefined {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status);
    if (!match) return undefined;
    return (BigInt(`0x${match[1]}`) >> BigInt(CAP_NET_ADMIN)) & 1n ? true : false;
  } catch {
    return undefined;
  }
}

/**
 * Whether TUN devices can be created here, and if not, why (addon not built or not loadable, not Linux,
 * /dev/net/tun missing, no permission). It creates nothing: the checks are the addon load, a stat and an
 * access check of the clone device, and CAP_NET_ADMIN in /proc/self/status.
 */
export function tunAvailable(options: { addonPath?: string; devicePath?: string } = {}): Availability {
  const addon = loadAddon(options.addonPath ?? DEFAULT_TUN_ADDON_PATH);
  if ('reason' in addon) return { ok: false, reason: addon.reason };
  const devicePath = options.devicePath ?? TUN_DEVICE_PATH;
  try {
    if (!statSync(devicePath).isCharacterDevice()) {
      return { ok: false, reason: `${devicePath} is not a character device` };
    }
  } catch {
    return { ok: false, reason: `${devicePath} is missing (load the tun kernel module, or give the container the device)` };
  }
  try {
    accessSync(devicePath, fsConstants.R_OK | fsConstants.W_OK);
  } catch {
    return { ok: false, reason: `not permitted to open ${devicePath} for reading and writing (run as root)` };
  }
  if (hasNetAdmin() === false) {
    return { ok: false, reason: 'not permitted: creating a TUN device needs CAP_NET_ADMIN (run as root)' };
  }
  return { ok: true };
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, number]) => [number, name]));

/** A Node-style system error (`code`, `errno`, `syscall`), from an errno number. */
function errnoError(errno: number, syscall: string, detail?: string): NodeJS.ErrnoException {
  const code = errnoNames.get(errno) ?? `E${errno}`;
  const error: NodeJS.ErrnoException = new Error(`${syscall} failed: ${code}${detail ? ` (${detail})` : ''}`);
  error.code = code;
  error.errno = -errno;
  error.syscall = syscall;
  return error;
}

/** Rewrites the addon's `{ errno, syscall }` errors into Node-style errors with a `code`. */
function normalizeError(error: unknown): unknown {
  const native = error as { errno?: unknown; syscall?: unknown; message?: string };
  if (typeof native.errno === 'number' && typeof native.syscall === 'string') {
    const normalized = errnoError(native.errno, native.syscall);
    if (normalized.code === 'EPERM' || normalized.code === 'EACCES') {
      normalized.message += ': creating a TUN device needs CAP_NET_ADMIN';
    } else if (normalized.code === 'EBUSY') {
      normalized.message += ': an interface with that name already exists';
    }
    return normalized;
  }
  return error;
}

/** `write` on an offload device: one packet of one part, behind an all-zero virtio_net_hdr. */
const ONE_PART = new Uint32Array([1]);
const NO_OFFLOAD_HEADER = new Uint8Array(10);

/** Options for `TunDevice.open`. */
export interface TunOpenOptions {
  /** Addon to load; default `DEFAULT_TUN_ADDON_PATH`. */
  readonly addonPath?: string;
  /** Most packets read per event-loop turn (one `onPackets` call); default 64. */
  readonly batchLimit?: number;
  /**
   * Open the device with IFF_VNET_HDR and TUNSETOFFLOAD (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6): every packet
   * read or written then starts with a 10-byte virtio_net_hdr, and TCP packets of up to 64 KB with a partial
   * checksum cross in both directions (./tun-offload.ts handles the header; use a `TunPort`). When the
   * kernel refuses, the device opens plain and `offloadError` says why. Default false.
   */
  readonly offload?: boolean;
  /** Receives each batch of packets read from the device. */
  readonly onPackets?: (packets: Buffer[]) => void;
  /** Receives a read failure (reading has stopped); without a handler the error is thrown from the loop. */
  readonly onError?: (error: NodeJS.ErrnoException) => void;
}

/**
 * One TUN device owned by this process (IFF_TUN | IFF_NO_PI, non-blocking fd, close-on-exec).
 *
 * Packets arrive through `onPackets`, in kernel order, batched per event-loop turn. Packets read while no
 * handler is set are dropped, as a NIC without a driver would. While open, the device keeps the event loop
 * alive (like a socket) unless `unref()` is called.
 */
export class TunDevice {
  /** Batches of packets read from the device (IP packets, no prefix). */
  onPackets: ((packets: Buffer[]) => void) | undefined;
  /** A read failure (e.g. EBADFD after the device was deleted); reading has stopped. */
  onError: ((error: NodeJS.ErrnoException) => void) | undefined;

  readonly #native: NativeTun;
  #closed = false;

  private constructor(native: NativeTun, options: TunOpenOptions) {
    this.#native = native;
    this.onPackets = options.onPackets;
    this.onError = options.onError;
  }

  /**
   * Creates a TUN device named `name` (at most 15 bytes; the kernel picks `tunN` when omitted) and starts
   * reading. Throws a Node-style error (`code` EPERM without CAP_NET_ADMIN, EBUSY if the name is taken),
   * or an Error with the reason from `tunAvailable()` when the addon is missing.
   */
  static open(name?: string, options: TunOpenOptions = {}): TunDevice {
    const addon = loadAddon(options.addonPath ?? DEFAULT_TUN_ADDON_PATH);
    if ('reason' in addon) throw new Error(addon.reason);
    let device: TunDevice | undefined;
    const onNative = (errno: number | null, slab: Buffer | undefined, ends: Uint32Array | undefined): void => {
      if (!device) return;
      if (errno === null) {
        if (!slab || !ends || !device.onPackets) return;
        // One Buffer per batch from the addon: each packet a view of it (starts 8-byte aligned).
        const packets: Buffer[] = new Array<Buffer>(ends.length);
        let start = 0;
        for (let i = 0; i < ends.length; i++) {
          const end = ends[i]!;
          packets[i] = slab.subarray(start, end);
          start = (end + 7) & ~7;
        }
        device.onPackets(packets);
        return;
      }
      const error = errnoError(errno, 'read', `TUN device ${device.name}`);
      if (device.onError) device.onError(error);
      else throw error;
    };
    let native: NativeTun;
    try {
      native = new addon.Tun(name, onNative, options.batchLimit ?? 64, options.offload ?? false);
    } catch (error) {
      throw normalizeError(error);
    }
    device = new TunDevice(native, options);
    try {
      native.start();
    } catch (error) {
      native.close();
      throw normalizeError(error);
    }
    return device;
  }

  /** Interface name, as the kernel registered it. */
  get name(): string {
    return this.#native.name;
  }

  /** The device's file descriptor (owned by this object; do not close it elsewhere). */
  get fd(): number {
    return this.#native.fd;
  }

  /** True when every packet read and written carries a virtio_net_hdr (offload asked for and granted). */
  get offload(): boolean {
    return this.#native.offload === true;
  }

  /** Why the kernel refused the offload that was asked for (the device is then plain), or undefined. */
  get offloadError(): string | undefined {
    return this.#native.offloadError;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes one IP packet (on an offload device behind an all-zero vnet header: the packet must carry its
   * checksums). Returns false when the kernel queue is full (EAGAIN): the packet is dropped, as a full NIC
   * queue would, and the transport recovers as from loss. Other failures throw.
   */
  write(packet: Uint8Array): boolean {
    if (this.#closed) throw new Error(`TUN device ${this.name} is closed`);
    // An offload device takes a vnet header before every packet: an all-zero one (no GSO, checksum complete).
    const result = this.offload ? this.#native.writev([packet], ONE_PART, 1, NO_OFFLOAD_HEADER) : this.#native.write(packet);
    if (this.offload && result === 1) return true;
    if (this.offload && result === 0) return false;
    if (result >= 0) return true;
    if (result === -osConstants.errno.EAGAIN) return false;
    throw errnoError(-result, 'write', `TUN device ${this.name}`);
  }

  /**
   * Writes `packets` packets in one call into the addon: packet i is gathered from the next `counts[i]`
   * entries of `parts` (no copy in JS), after its 10-byte vnet header `headers[10 i, 10 i + 10)` on an
   * offload device (`headers` must then be given; null on a plain one). Returns how many were written: fewer
   * than `packets` when the kernel queue filled up (EAGAIN; the rest is dropped, as `write` drops). Other
   * failures throw.
   */
  writev(parts: readonly Uint8Array[], counts: Uint32Array, packets: number, headers: Uint8Array | null): number {
    if (this.#closed) throw new Error(`TUN device ${this.name} is closed`);
    if ((headers !== null) !== this.offload) {
      throw new Error(`TUN device ${this.name}: vnet headers ${this.offload ? 'are required (offload device)' : 'given to a plain device'}`);
    }
    const result = this.#native.writev(parts, counts, packets, headers);
    if (result >= 0) return result;
    throw errnoError(-result, 'writev', `TUN device ${this.name}`);
  }

  /** The device MTU (SIOCGIFMTU by name: only while the device is in this process's network namespace). */
  getMtu(): number {
    try {
      return this.#native.getMtu();
    } catch (error) {
      throw normalizeError(error);
    }
  }

  /** Sets the MTU (SIOCSIFMTU; only while in this process's namespace; afterwards use `ip link set mtu`). */
  setMtu(mtu: number): void {
    try {
      this.#native.setMtu(mtu);
    } catch (error) {
      throw normalizeError(error);
    }
  }

  /** Lets the process exit while this device is open. */
  unref(): this {
    this.#native.unref();
    return this;
  }

  /** Undoes `unref()`. */
  ref(): this {
    this.#native.ref();
    return this;
  }

  /** Stops reading and closes the fd, which deletes the device. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
  }
}
