/**
 * The in-kernel path manager's configuration, in the words `ip mptcp` speaks.
 *
 * Read first: iproute2 `ip/ipmptcp.c` (`mptcp_parse_opt`, `print_mptcp_addrinfo`, `mptcp_parse_limit`,
 * `print_mptcp_limit`) and Linux `net/mptcp/pm_kernel.c` (`mptcp_pm_nl_add_addr_doit`,
 * `mptcp_pm_nl_append_new_local_addr`, `mptcp_pm_nl_set_flags`, `parse_limit`, `pm_nl_init_net`);
 * `pm_netlink.c` before Linux 6.15.
 *
 * Acceptance rules were checked against Linux 6.18 with iproute2 6.1 in a private namespace: where the
 * two tools split a rule (iproute2 refuses `signal fullmesh` itself; the kernel refuses a port on a
 * `subflow` endpoint) the error message here is the one the user would have seen.
 * Deliberate differences: an address must be complete text (iproute2's `get_addr` takes `1.2.3` as
 * `1.2.3.0`), `dev` is a name we cannot check, and a port is not bound here (the kernel opens a listener
 * for a signal endpoint with a port and fails with -EADDRNOTAVAIL if the address is not local).
 */
import { formatAddress, parseAddress, type IpAddressBytes } from '../wire/address.js';

/** Endpoint flags, as MPTCP_PM_ADDR_FLAG_* in include/uapi/linux/mptcp.h. */
export const ENDPOINT_FLAG = {
  signal: 0x01,
  subflow: 0x02,
  backup: 0x04,
  fullmesh: 0x08,
  implicit: 0x10,
} as const;

/** MPTCP_PM_ADDR_MAX: at most 8 endpoints, and the maximum of each limit. */
export const PM_ADDR_MAX = 8;
/** MPTCP_PM_MAX_ADDR_ID: endpoint ids are 1..255 (0 names the initial subflow's address). */
export const PM_MAX_ADDR_ID = 255;

/** One `ip mptcp endpoint`. */
export interface Endpoint {
  /** 4 or 16 bytes. */
  readonly address: IpAddressBytes;
  /** 0 = none. Only a `signal` (and not `subflow`) endpoint may carry a port. */
  readonly port: number;
  /** 1..255, or undefined before the table assigns one. */
  readonly id: number | undefined;
  /** Interface name (`dev`), informative: routing picks the interface. */
  readonly dev: string | undefined;
  /** Announce this address to the peer with ADD_ADDR. */
  readonly signal: boolean;
  /** Open subflows from this address. */
  readonly subflow: boolean;
  /** Subflows from/to this address are backup (MP_JOIN B bit, MP_PRIO). */
  readonly backup: boolean;
  /** A subflow to every known remote address, not only the initial one. */
  readonly fullmesh: boolean;
}

/** `ip mptcp limits`. */
export interface Limits {
  /** Additional subflows per connection (`subflows_max`). */
  readonly subflows: number;
  /** ADD_ADDRs accepted (answered with a join) per connection (`add_addr_accept_max`). */
  readonly addAddrAccepted: number;
}

/** `pm_nl_init_net`: "2 subflows ought to be enough for anybody"; add_addr_accept_max zeroed. */
export const DEFAULT_LIMITS: Limits = Object.freeze({ subflows: 2, addAddrAccepted: 0 });

/** Why a configuration text or change was refused; `code` is stable, `message` is for people. */
export class PmConfigError extends Error {
  constructor(
    readonly code:
      | 'PM_MISSING_ADDRESS'
      | 'PM_BAD_ADDRESS'
      | 'PM_BAD_PORT'
      | 'PM_BAD_ID'
      | 'PM_MISSING_VALUE'
      | 'PM_BAD_FLAGS'
      | 'PM_UNKNOWN_ARGUMENT'
      | 'PM_BAD_LIMIT'
      | 'PM_TOO_MANY'
      | 'PM_DUPLICATE'
      | 'PM_ID_IN_USE'
      | 'PM_NOT_FOUND',
    message: string,
  ) {
    super(message);
    this.name = 'PmConfigError';
  }
}

/** iproute2's `matches(arg, word)`: arg is a non-empty prefix of word. */
function matches(arg: string, word: string): boolean {
  return arg.length > 0 && word.startsWith(arg);
}

/** iproute2 `get_u8/get_u16/get_u32(…, base 0)`: decimal, 0x hex or 0 octal, no sign. */
function parseUnsigned(text: string, max: number): number | undefined {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) n = parseInt(text.slice(1), 8);
  else if (/^\d+$/.test(text)) n = Number(text);
  else return undefined;
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

function words(text: string): string[] {
  return text.trim().split(/\s+/).filter((w) => w !== '');
}

/**
 * Parses `ADDR [port PORT] [id ID] [dev IFNAME] [signal] [subflow] [backup] [fullmesh]`, any order, like
 * `ip mptcp endpoint add`. Throws {@link PmConfigError}.
 */
export function parseEndpoint(text: string): Endpoint {
  const args = words(text);
  let address: Uint8Array | undefined;
  let port = 0;
  let id: number | undefined;
  let dev: string | undefined;
  const flags = { signal: false, subflow: false, backup: false, fullmesh: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new PmConfigError('PM_MISSING_VALUE', `"${arg}" needs a value`);
      return v;
    };
    if (arg === 'signal' || arg === 'subflow' || arg === 'backup' || arg === 'fullmesh') {
      flags[arg] = true;
      // ipmptcp.c refuses this while parsing, before the kernel sees it.
      if (flags.signal && flags.fullmesh) {
        throw new PmConfigError('PM_BAD_FLAGS', `flags mustn't have both signal and fullmesh`);
      }
    } else if (arg === 'implicit') {
      throw new PmConfigError('PM_BAD_FLAGS', `can't create IMPLICIT endpoint`);
    } else if (matches(arg, 'id')) {
      const v = value();
      const n = parseUnsigned(v, 255);
      if (n === undefined) throw new PmConfigError('PM_BAD_ID', `invalid ID "${v}": expected 1..255`);
      if (n === 0) throw new PmConfigError('PM_BAD_ID', `invalid ID 0: endpoint ids are 1..255 (id 0 is the initial subflow's)`);
      id = n;
    } else if (matches(arg, 'dev')) {
      const v = value();
      // check_ifname(): at most IFNAMSIZ-1 bytes, no '/', ':' or whitespace.
      if (v.length > 15 || /[/:\s]/.test(v)) throw new PmConfigError('PM_UNKNOWN_ARGUMENT', `invalid interface name "${v}"`);
      dev = v;
    } else if (matches(arg, 'port')) {
      const v = value();
      const n = parseUnsigned(v, 65535);
      if (n === undefined) throw new PmConfigError('PM_BAD_PORT', `expected port 0..65535, got "${v}"`);
      port = n;
    } else {
      const a = parseAddress(arg);
      if (!a) {
        throw new PmConfigError(
          address ? 'PM_UNKNOWN_ARGUMENT' : 'PM_BAD_ADDRESS',
          `any valid address is expected rather than "${arg}"`,
        );
      }
      address = a;
    }
  }
  if (!address) throw new PmConfigError('PM_MISSING_ADDRESS', `an ADDRESS is required`);
  if (port !== 0 && !flags.signal) throw new PmConfigError('PM_BAD_FLAGS', `flags must have signal when using port`);
  // mptcp_pm_nl_add_addr_doit(): address_use_port() is "signal and not subflow".
  if (port !== 0 && flags.subflow) {
    throw new PmConfigError('PM_BAD_FLAGS', `flags must have signal and not subflow when using port`);
  }
  return { address, port, id, dev, ...flags };
}

/**
 * Prints an endpoint like one line of `ip mptcp endpoint show` (`198.18.1.2 port 5300 id 2 signal backup
 * dev eth1`), without the trailing space iproute2 leaves before the newline. An endpoint without an id
 * prints without `id` (it has not been added to a table yet).
 */
export function formatEndpoint(endpoint: Endpoint): string {
  const out = [formatAddress(endpoint.address)];
  if (endpoint.port) out.push(`port ${endpoint.port}`);
  if (endpoint.id !== undefined) out.push(`id ${endpoint.id}`);
  // print_mptcp_addr_flags(): the order of mptcp_addr_flag_names[].
  for (const flag of ['signal', 'subflow', 'backup', 'fullmesh'] as const) if (endpoint[flag]) out.push(flag);
  if (endpoint.dev !== undefined) out.push(`dev ${endpoint.dev}`);
  return out.join(' ');
}

/**
 * Parses `subflows N add_addr_accepted N` (either or both, any order, keywords may be abbreviated as
 * iproute2 allows) onto `base` (the kernel keeps a limit that is not given). Each limit is 0..8
 * (`parse_limit`: "limit greater than maximum (8)").
 */
export function parseLimits(text: string, base: Limits = DEFAULT_LIMITS): Limits {
  const args = words(text);
  let { subflows, addAddrAccepted } = base;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = matches(arg, 'subflows') ? 'subflows' : matches(arg, 'add_addr_accepted') ? 'add_addr_accepted' : undefined;
    if (!name) throw new PmConfigError('PM_UNKNOWN_ARGUMENT', `unknown limit "${arg}": expected subflows or add_addr_accepted`);
    const v = args[++i];
    if (v === undefined) throw new PmConfigError('PM_MISSING_VALUE', `"${name}" needs a value`);
    const n = parseUnsigned(v, 0xffffffff);
    if (n === undefined) throw new PmConfigError('PM_BAD_LIMIT', `invalid ${name} "${v}"`);
    if (n > PM_ADDR_MAX) throw new PmConfigError('PM_BAD_LIMIT', `${name} ${n}: limit greater than maximum (${PM_ADDR_MAX})`);
    if (name === 'subflows') subflows = n;
    else addAddrAccepted = n;
  }
  return { subflows, addAddrAccepted };
}

/** Prints like `ip mptcp limits show` (`add_addr_accepted 0 subflows 2`), without the trailing space. */
export function formatLimits(limits: Limits): string {
  return `add_addr_accepted ${limits.addAddrAccepted} subflows ${limits.subflows}`;
}

/** Same address bytes (and family). */
export function addressesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An endpoint that has been added: it always has an id. */
export type TableEndpoint = Endpoint & { readonly id: number };

/** What `change` may set: backup and fullmesh only (`ip mptcp endpoint change ... CHANGE-OPT`). */
export interface EndpointChange {
  readonly backup?: boolean;
  readonly fullmesh?: boolean;
}

/**
 * The per-namespace endpoint list (`struct pm_nl_pernet`), with the kernel's id allocation and refusals.
 *
 * `list()` is in the kernel's list order (what the path manager walks: endpoints with a port first,
 * newest first, then the others in insertion order); `show()` is in id order, as `ip mptcp endpoint show`
 * dumps them.
 */
export class EndpointTable {
  private entries: TableEndpoint[] = [];
  /** `pernet->next_id`: allocation resumes after the highest id handed out or given. */
  private nextId = 1;

  /** Endpoints in the kernel's `local_addr_list` order. */
  list(): readonly TableEndpoint[] {
    return this.entries;
  }

  /** Endpoints in id order, like `ip mptcp endpoint show`. */
  show(): TableEndpoint[] {
    return [...this.entries].sort((a, b) => a.id - b.id);
  }

  /** `ip mptcp endpoint show` text, one line per endpoint. */
  format(): string {
    return this.show().map((e) => `${formatEndpoint(e)}\n`).join('');
  }

  get(id: number): TableEndpoint | undefined {
    return this.entries.find((e) => e.id === id);
  }

  /** The endpoint for this address (and port, if either has one), as the kernel's `__lookup_addr`. */
  lookup(address: Uint8Array, port = 0): TableEndpoint | undefined {
    return this.entries.find((e) => addressesEqual(e.address, address) && (!(e.port || port) || e.port === port));
  }

  /**
   * `mptcp_pm_nl_append_new_local_addr`: at most 8 endpoints (-ERANGE), a given id must be free
   * (-EBUSY), an address is refused if present already (-EEXIST; the port only distinguishes endpoints
   * that use one), otherwise the next free id from `next_id` upward, wrapping to 1.
   * Accepts an {@link Endpoint} or the text of `ip mptcp endpoint add`. Returns the stored endpoint.
   */
  add(input: Endpoint | string): TableEndpoint {
    const endpoint = typeof input === 'string' ? parseEndpoint(input) : validate(input);
    if (this.entries.length >= PM_ADDR_MAX) {
      throw new PmConfigError('PM_TOO_MANY', `too many addresses: at most ${PM_ADDR_MAX} endpoints`);
    }
    if (endpoint.id !== undefined && this.get(endpoint.id)) {
      throw new PmConfigError('PM_ID_IN_USE', `endpoint id ${endpoint.id} is in use`);
    }
    const port = endpoint.signal && !endpoint.subflow ? endpoint.port : 0;
    if (this.lookup(endpoint.address, port)) {
      throw new PmConfigError('PM_DUPLICATE', `duplicate endpoint ${formatAddress(endpoint.address)}${port ? ` port ${port}` : ''}`);
    }
    let id = endpoint.id;
    if (id === undefined) {
      if (this.nextId === PM_MAX_ADDR_ID) this.nextId = 1;
      id = this.freeIdFrom(this.nextId) ?? this.freeIdFrom(1);
      if (id === undefined) throw new PmConfigError('PM_TOO_MANY', `no free endpoint id`);
    }
    if (id > this.nextId) this.nextId = id;
    const stored: TableEndpoint = { ...endpoint, port, id };
    if (port) this.entries.unshift(stored);
    else this.entries.push(stored);
    return stored;
  }

  private freeIdFrom(start: number): number | undefined {
    for (let id = start; id <= PM_MAX_ADDR_ID; id++) if (!this.get(id)) return id;
    return undefined;
  }

  /** `ip mptcp endpoint delete id N`, or by address. Returns the removed endpoint. */
  delete(key: number | Uint8Array | string): TableEndpoint {
    const entry = this.find(key);
    this.entries = this.entries.filter((e) => e !== entry);
    return entry;
  }

  /** `ip mptcp endpoint flush`: removes all, and id allocation restarts at 1. */
  flush(): void {
    this.entries = [];
    this.nextId = 1;
  }

  /**
   * `ip mptcp endpoint change id N backup|nobackup|fullmesh|nofullmesh` (`mptcp_pm_nl_set_flags`).
   * As in the kernel, the backup and fullmesh bits are both replaced by what is given (`change id 3
   * backup` also clears fullmesh), and fullmesh is refused on a signal endpoint. `change` may be the
   * text of the options (`"backup"`, `"nobackup fullmesh"`).
   */
  change(key: number | Uint8Array | string, change: EndpointChange | string): TableEndpoint {
    const entry = this.find(key);
    const wanted = typeof change === 'string' ? parseChange(change) : change;
    const backup = wanted.backup ?? false;
    const fullmesh = wanted.fullmesh ?? false;
    if (fullmesh && entry.signal) throw new PmConfigError('PM_BAD_FLAGS', `invalid addr flags: fullmesh on a signal endpoint`);
    const updated: TableEndpoint = { ...entry, backup, fullmesh };
    this.entries = this.entries.map((e) => (e === entry ? updated : e));
    return updated;
  }

  private find(key: number | Uint8Array | string): TableEndpoint {
    let entry: TableEndpoint | undefined;
    if (typeof key === 'number') {
      if (!Number.isInteger(key) || key < 1 || key > PM_MAX_ADDR_ID) throw new PmConfigError('PM_BAD_ID', `invalid ID ${key}`);
      entry = this.get(key);
    } else {
      const address = typeof key === 'string' ? parseAddress(key) : key;
      if (!address) throw new PmConfigError('PM_BAD_ADDRESS', `any valid address is expected rather than "${String(key)}"`);
      entry = this.lookup(address);
    }
    if (!entry) throw new PmConfigError('PM_NOT_FOUND', `address not found`);
    return entry;
  }
}

function parseChange(text: string): EndpointChange {
  const out: { backup?: boolean; fullmesh?: boolean } = {};
  for (const w of words(text)) {
    if (w === 'backup' || w === 'nobackup') out.backup = w === 'backup';
    else if (w === 'fullmesh' || w === 'nofullmesh') out.fullmesh = w === 'fullmesh';
    else throw new PmConfigError('PM_BAD_FLAGS', `invalid flags "${w}", backup and fullmesh only`);
  }
  return out;
}

/** The same refusals as {@link parseEndpoint}, for endpoints built in code. */
function validate(e: Endpoint): Endpoint {
  if (e.address.length !== 4 && e.address.length !== 16) throw new PmConfigError('PM_BAD_ADDRESS', `an address is 4 or 16 bytes`);
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) throw new PmConfigError('PM_BAD_PORT', `port ${e.port} out of range`);
  if (e.id !== undefined && (!Number.isInteger(e.id) || e.id < 1 || e.id > PM_MAX_ADDR_ID)) {
    throw new PmConfigError('PM_BAD_ID', `invalid ID ${e.id}: expected 1..255`);
  }
  if (e.signal && e.fullmesh) throw new PmConfigError('PM_BAD_FLAGS', `flags mustn't have both signal and fullmesh`);
  if (e.port && !e.signal) throw new PmConfigError('PM_BAD_FLAGS', `flags must have signal when using port`);
  if (e.port && e.subflow) throw new PmConfigError('PM_BAD_FLAGS', `flags must have signal and not subflow when using port`);
  return e;
}
