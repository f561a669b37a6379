/**
 * `--iface SPEC`: the interfaces the userspace stack would run perf over (one per path/subflow). Parsed and
 * checked here; wiring them to the stack's TUN and UDP drivers (src/io/) is the stack integration's job.
 *
 *   tun:NAME,addr=ADDR/PREFIX,peer=ADDR/PREFIX[,netns=NS][,mtu=N]
 *       A Linux TUN device NAME (created by the stack; 1-15 characters, no '/', ':', ',', '=' or blanks) with
 *       our address `addr` and the kernel-side peer address `peer`, same family, both with their prefix
 *       length; `netns` moves the device's kernel side into network namespace NS; `mtu` sets the device's
 *       MTU (default 1500).
 *       e.g. tun:mp0,addr=198.18.0.2/24,peer=198.18.0.1/24   tun:mp6,addr=fd00::2/64,peer=fd00::1/64,netns=srv
 *
 *   udp:ADDR[:PORT][,remote=ADDR:PORT][,addr=ADDR/PREFIX][,mtu=N]
 *       A UDP path (IP packets in UDP datagrams, src/io/udp.ts) bound to local ADDR (and PORT; 0 or none: any
 *       free port). IPv6 addresses take brackets when a port follows: udp:[::1]:4000. `remote` is the peer's
 *       UDP endpoint; without it the path answers whoever sends to it first (a server). `addr` is the stack's
 *       own (inner) address on the path; without it, the outer local ADDR itself (/32 or /128), which a
 *       wildcard ADDR (0.0.0.0, ::) cannot be. `mtu` is the largest inner IP packet (default 1472 over IPv4,
 *       1452 over IPv6: a 1500-byte path minus the outer headers).
 *       e.g. udp:127.0.0.1:7001,remote=127.0.0.1:7002   udp:[fd00::2]:7001   udp:::1
 *
 * Addresses are returned in canonical text (RFC 5952 for IPv6).
 */
import { formatAddress, parseAddress, parseCidr } from '../wire/address.js';

/** An address with a prefix length. */
export interface IfaceCidr {
  readonly address: string;
  readonly prefixLength: number;
  readonly family: 4 | 6;
}

/** A UDP endpoint; `port` undefined means "any free port" (local side only). */
export interface IfaceEndpoint {
  readonly address: string;
  readonly port?: number;
  readonly family: 4 | 6;
}

export interface TunIfaceSpec {
  readonly kind: 'tun';
  readonly name: string;
  readonly address: IfaceCidr;
  readonly peer: IfaceCidr;
  readonly netns?: string;
  /** Device MTU, if given. */
  readonly mtu?: number;
  /** The text it was parsed from. */
  readonly spec: string;
}

export interface UdpIfaceSpec {
  readonly kind: 'udp';
  readonly local: IfaceEndpoint;
  readonly remote?: IfaceEndpoint & { readonly port: number };
  /** The stack's inner address on the path, if given (`addr=`); default: the local address as /32 or /128. */
  readonly address?: IfaceCidr;
  /** Largest inner IP packet, if given. */
  readonly mtu?: number;
  readonly spec: string;
}

export type IfaceSpec = TunIfaceSpec | UdpIfaceSpec;

/** A bad `--iface` value; the message names the spec and what is wrong with it. */
export class IfaceSpecError extends Error {
  override readonly name = 'IfaceSpecError';
}

const IFNAME_RE = /^[^\s/:,=]{1,15}$/;
const NETNS_RE = /^[A-Za-z0-9_.-]{1,255}$/;

/** Parses one `--iface` value; throws IfaceSpecError with a one-line reason. */
export function parseIfaceSpec(spec: string): IfaceSpec {
  const fail = (why: string): never => {
    throw new IfaceSpecError(`bad --iface '${spec}': ${why}`);
  };
  const colon = spec.indexOf(':');
  if (colon < 0) fail("expected 'tun:NAME,addr=ADDR/PREFIX,peer=ADDR/PREFIX[,netns=NS]' or 'udp:ADDR[:PORT][,remote=ADDR:PORT]'");
  const kind = spec.slice(0, colon);
  const body = spec.slice(colon + 1);
  if (kind === 'tun') return parseTun(spec, body, fail);
  if (kind === 'udp') return parseUdp(spec, body, fail);
  return fail(`unknown interface kind '${kind}' (expected 'tun' or 'udp')`);
}

function splitOptions(fields: string[], allowed: readonly string[], fail: (why: string) => never): Map<string, string> {
  const options = new Map<string, string>();
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq <= 0) fail(`expected KEY=VALUE, got '${field}'`);
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (!allowed.includes(key)) fail(`unknown option '${key}' (allowed: ${allowed.join(', ')})`);
    if (options.has(key)) fail(`'${key}' given twice`);
    if (value === '') fail(`empty value for '${key}'`);
    options.set(key, value);
  }
  return options;
}

function cidr(text: string, key: string, fail: (why: string) => never): IfaceCidr {
  const parsed = parseCidr(text);
  if (!parsed) {
    if (!text.includes('/')) fail(`${key}=${text}: missing the prefix length (e.g. ${key}=198.18.0.2/24)`);
    fail(`${key}=${text}: not an IPv4/IPv6 address with a valid prefix length`);
  }
  return { address: formatAddress(parsed.address), prefixLength: parsed.prefixLength, family: parsed.address.length === 4 ? 4 : 6 };
}

function parseTun(spec: string, body: string, fail: (why: string) => never): TunIfaceSpec {
  const [name = '', ...fields] = body.split(',');
  if (name === '') fail('missing the device NAME (tun:NAME,addr=...,peer=...)');
  if (name.includes('=')) fail(`the device NAME comes first (tun:NAME,addr=...), got '${name}'`);
  if (!IFNAME_RE.test(name)) fail(`device name '${name}' must be 1-15 characters without '/', ':', ',', '=' or blanks`);
  const options = splitOptions(fields, ['addr', 'peer', 'netns', 'mtu'], fail);
  const addrText = options.get('addr');
  const peerText = options.get('peer');
  if (addrText === undefined) fail('missing addr=ADDR/PREFIX (our address on the device)');
  if (peerText === undefined) fail('missing peer=ADDR/PREFIX (the kernel-side address)');
  const address = cidr(addrText!, 'addr', fail);
  const peer = cidr(peerText!, 'peer', fail);
  if (address.family !== peer.family) fail(`addr is IPv${address.family} but peer is IPv${peer.family}`);
  if (address.address === peer.address) fail('addr and peer must differ');
  const netns = options.get('netns');
  if (netns !== undefined && !NETNS_RE.test(netns)) fail(`bad netns name '${netns}'`);
  const mtu = mtuOption(options.get('mtu'), fail);
  return { kind: 'tun', name, address, peer, ...(netns !== undefined ? { netns } : {}), ...(mtu !== undefined ? { mtu } : {}), spec };
}

/** Smallest MTU: IPv6's minimum link MTU (RFC 8200), also plenty for IPv4 + TCP + options. */
const MIN_MTU = 1280;
const MAX_MTU = 65_487;

function mtuOption(text: string | undefined, fail: (why: string) => never): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) < MIN_MTU || Number(text) > MAX_MTU) fail(`mtu=${text}: expected an integer ${MIN_MTU}-${MAX_MTU}`);
  return Number(text);
}

/** "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 "V6". */
function endpoint(text: string, what: string, fail: (why: string) => never): IfaceEndpoint {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) fail(`${what} '${text}': missing ']'`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) fail(`${what} '${text}': expected ':PORT' after ']'`);
      portText = rest.slice(1);
    }
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const colon = text.indexOf(':');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  } else {
    host = text; // IPv4 without port, or a bare IPv6 address (no port possible without brackets)
  }
  const bytes = parseAddress(host);
  if (!bytes) fail(`${what} '${host}' is not an IPv4 or IPv6 address${host.includes(':') ? '' : ' (names are not resolved)'}`);
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) fail(`${what} port '${portText}' is not a number 0-65535`);
    port = Number(portText);
  }
  return { address: formatAddress(bytes!), family: bytes!.length === 4 ? 4 : 6, ...(port !== undefined ? { port } : {}) };
}

function parseUdp(spec: string, body: string, fail: (why: string) => never): UdpIfaceSpec {
  const [localText = '', ...fields] = body.split(',');
  if (localText === '') fail('missing the local ADDR (udp:ADDR[:PORT])');
  const local = endpoint(localText, 'local address', fail);
  const options = splitOptions(fields, ['remote', 'addr', 'mtu'], fail);
  const addrText = options.get('addr');
  const address = addrText === undefined ? undefined : cidr(addrText, 'addr', fail);
  if (!address && (local.address === '0.0.0.0' || local.address === '::')) {
    fail(`the wildcard address ${local.address} cannot be the stack's own address: give addr=ADDR/PREFIX`);
  }
  const mtu = mtuOption(options.get('mtu'), fail);
  const extra = { ...(address ? { address } : {}), ...(mtu !== undefined ? { mtu } : {}) };
  const remoteText = options.get('remote');
  if (remoteText === undefined) return { kind: 'udp', local, ...extra, spec };
  const remote = endpoint(remoteText, 'remote', fail);
  if (remote.port === undefined || remote.port === 0) fail(`remote '${remoteText}' needs a port (remote=ADDR:PORT)`);
  if (remote.family !== local.family) fail(`local address is IPv${local.family} but remote is IPv${remote.family}`);
  return { kind: 'udp', local, remote: { ...remote, port: remote.port! }, ...extra, spec };
}
