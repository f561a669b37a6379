/**
 * SOCKS version 5 (RFC 1928) and its username/password sub-negotiation (RFC 1929): pure codecs for both
 * sides of the handshake. Read RFC 1928 sections 3 (method negotiation), 4 (requests), 5 (addressing) and
 * 6 (replies), and RFC 1929 section 2.
 *
 * Every parser takes the bytes received so far (from the start of the message) and returns a result, never
 * throws: `incomplete` (wait for more bytes), `error` (the reaction: the reply code to send, or only
 * closing), or the message with the number of bytes it `consumed` (what follows belongs to the next
 * message, or to the relayed stream). The encoders allocate exactly the message.
 */
import { formatAddress, parseAddress } from '../wire/address.js';

/** The protocol numbers (RFC 1928, RFC 1929). */
export const SOCKS = {
  VERSION: 0x05,
  AUTH_VERSION: 0x01,
  METHOD_NO_AUTH: 0x00,
  METHOD_USERPASS: 0x02,
  METHOD_NONE_ACCEPTABLE: 0xff,
  CMD_CONNECT: 0x01,
  CMD_BIND: 0x02,
  CMD_UDP_ASSOCIATE: 0x03,
  ATYP_IPV4: 0x01,
  ATYP_DOMAIN: 0x03,
  ATYP_IPV6: 0x04,
} as const;

/** The REP field of a reply (RFC 1928 section 6). */
export const SOCKS_REPLY = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

const REPLY_TEXT: Readonly<Record<number, string>> = {
  0x00: 'succeeded',
  0x01: 'general SOCKS server failure',
  0x02: 'connection not allowed by ruleset',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused',
  0x06: 'TTL expired',
  0x07: 'command not supported',
  0x08: 'address type not supported',
};

/** RFC 1928's words for reply code `rep` ("connection not allowed by ruleset"). */
export function socksReplyText(rep: number): string {
  return REPLY_TEXT[rep] ?? `unassigned reply code 0x${rep.toString(16).padStart(2, '0')}`;
}

/** Where to connect: an IP literal (as text) or a domain name, and a port. */
export interface SocksDestination {
  /** 'ipv4' / 'ipv6': `host` is the address as text; 'domain': `host` is the name as sent. */
  readonly type: 'ipv4' | 'ipv6' | 'domain';
  readonly host: string;
  readonly port: number;
}

/** A parse that needs more bytes. */
export interface Incomplete {
  readonly kind: 'incomplete';
}
/** Malformed input: `message` for logs, and `reply` the REP code to answer with (undefined: just close). */
export interface SocksParseError {
  readonly kind: 'error';
  readonly message: string;
  readonly reply?: number;
}
/** A whole message, and the bytes it took. */
export interface Parsed<T> {
  readonly kind: 'ok';
  readonly value: T;
  readonly consumed: number;
}
export type SocksResult<T> = Incomplete | SocksParseError | Parsed<T>;

const INCOMPLETE: Incomplete = { kind: 'incomplete' };

function fail(message: string, reply?: number): SocksParseError {
  return reply === undefined ? { kind: 'error', message } : { kind: 'error', message, reply };
}

function ok<T>(value: T, consumed: number): Parsed<T> {
  return { kind: 'ok', value, consumed };
}

// ---- server side: what a client sends ------------------------------------------------------------------

/** The client's greeting: the methods it offers (RFC 1928 section 3). */
export interface SocksGreeting {
  readonly methods: readonly number[];
}

/** Parses `VER NMETHODS METHODS...`. A wrong version is an error without a reply (it is not SOCKS 5). */
export function parseGreeting(bytes: Uint8Array): SocksResult<SocksGreeting> {
  if (bytes.length < 1) return INCOMPLETE;
  if (bytes[0] !== SOCKS.VERSION) return fail(`not SOCKS 5: version byte 0x${bytes[0]!.toString(16).padStart(2, '0')}`);
  if (bytes.length < 2) return INCOMPLETE;
  const n = bytes[1]!;
  if (n === 0) return fail('greeting offers no authentication method');
  if (bytes.length < 2 + n) return INCOMPLETE;
  return ok({ methods: Array.from(bytes.subarray(2, 2 + n)) }, 2 + n);
}

/** The RFC 1929 request: username and password (each 1-255 bytes, as UTF-8 text). */
export interface SocksCredentials {
  readonly username: string;
  readonly password: string;
}

/** Parses `VER(1) ULEN UNAME PLEN PASSWD` (RFC 1929 section 2). */
export function parseAuthRequest(bytes: Uint8Array): SocksResult<SocksCredentials> {
  if (bytes.length < 1) return INCOMPLETE;
  if (bytes[0] !== SOCKS.AUTH_VERSION) return fail(`username/password sub-negotiation version 0x${bytes[0]!.toString(16).padStart(2, '0')}, expected 0x01`);
  if (bytes.length < 2) return INCOMPLETE;
  const ulen = bytes[1]!;
  if (bytes.length < 3 + ulen) return INCOMPLETE;
  const plen = bytes[2 + ulen]!;
  const end = 3 + ulen + plen;
  if (bytes.length < end) return INCOMPLETE;
  const text = new TextDecoder();
  return ok({ username: text.decode(bytes.subarray(2, 2 + ulen)), password: text.decode(bytes.subarray(3 + ulen, end)) }, end);
}

/** A request (RFC 1928 section 4); only CONNECT is accepted by `parseRequest`. */
export interface SocksRequest {
  readonly command: number;
  readonly destination: SocksDestination;
}

/** Parses `ATYP DST.ADDR DST.PORT` at `offset`: the address and the offset after the port. */
function parseAddressField(bytes: Uint8Array, offset: number): SocksResult<SocksDestination> {
  if (bytes.length < offset + 1) return INCOMPLETE;
  const atyp = bytes[offset]!;
  let host: string;
  let type: SocksDestination['type'];
  let at = offset + 1;
  if (atyp === SOCKS.ATYP_IPV4) {
    if (bytes.length < at + 4) return INCOMPLETE;
    host = formatAddress(bytes.subarray(at, at + 4));
    type = 'ipv4';
    at += 4;
  } else if (atyp === SOCKS.ATYP_IPV6) {
    if (bytes.length < at + 16) return INCOMPLETE;
    host = formatAddress(bytes.subarray(at, at + 16));
    type = 'ipv6';
    at += 16;
  } else if (atyp === SOCKS.ATYP_DOMAIN) {
    if (bytes.length < at + 1) return INCOMPLETE;
    const len = bytes[at]!;
    if (len === 0) return fail('empty domain name', SOCKS_REPLY.GENERAL_FAILURE);
    if (bytes.length < at + 1 + len) return INCOMPLETE;
    const name = bytes.subarray(at + 1, at + 1 + len);
    // A host name is letters, digits, '-', '.', '_' (and IDNA's xn--), or an IP literal sent as a name
    // (':' of IPv6): anything else cannot be resolved.
    for (const c of name) {
      const okChar = (c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f;
      if (!okChar) return fail('domain name with a byte that is not a host-name character', SOCKS_REPLY.HOST_UNREACHABLE);
    }
    host = String.fromCharCode(...name);
    type = 'domain';
    at += 1 + len;
  } else {
    return fail(`unknown address type 0x${atyp.toString(16).padStart(2, '0')}`, SOCKS_REPLY.ADDRESS_TYPE_NOT_SUPPORTED);
  }
  if (bytes.length < at + 2) return INCOMPLETE;
  const port = (bytes[at]! << 8) | bytes[at + 1]!;
  return ok({ type, host, port }, at + 2);
}

/**
 * Parses `VER CMD RSV ATYP DST.ADDR DST.PORT`. BIND and UDP ASSOCIATE (and unknown commands) are errors
 * with reply 0x07, unknown address types with 0x08; a wrong version closes without a reply.
 */
export function parseRequest(bytes: Uint8Array): SocksResult<SocksRequest> {
  if (bytes.length < 1) return INCOMPLETE;
  if (bytes[0] !== SOCKS.VERSION) return fail(`request version 0x${bytes[0]!.toString(16).padStart(2, '0')}, expected 0x05`);
  if (bytes.length < 3) return INCOMPLETE;
  const command = bytes[1]!;
  if (command !== SOCKS.CMD_CONNECT) {
    const name = command === SOCKS.CMD_BIND ? 'BIND' : command === SOCKS.CMD_UDP_ASSOCIATE ? 'UDP ASSOCIATE' : `command 0x${command.toString(16).padStart(2, '0')}`;
    return fail(`${name} is not supported (CONNECT only)`, SOCKS_REPLY.COMMAND_NOT_SUPPORTED);
  }
  const address = parseAddressField(bytes, 3);
  if (address.kind !== 'ok') return address;
  return ok({ command, destination: address.value }, address.consumed);
}

/** `VER METHOD`: the server's choice (0xff: none of the offered methods is acceptable). */
export function encodeMethodChoice(method: number): Uint8Array {
  return Uint8Array.of(SOCKS.VERSION, method);
}

/** `VER(1) STATUS`: 0 success, anything else failure (the server then closes). */
export function encodeAuthReply(success: boolean): Uint8Array {
  return Uint8Array.of(SOCKS.AUTH_VERSION, success ? 0x00 : 0x01);
}

/** `ATYP ADDR PORT` of an IP literal or a name (longer than 255 bytes: an error). */
function encodeAddressField(destination: SocksDestination): Uint8Array {
  const port = destination.port & 0xffff;
  const ip = destination.type === 'domain' ? undefined : parseAddress(destination.host);
  if (ip) {
    const out = new Uint8Array(1 + ip.length + 2);
    out[0] = ip.length === 4 ? SOCKS.ATYP_IPV4 : SOCKS.ATYP_IPV6;
    out.set(ip, 1);
    out[1 + ip.length] = port >> 8;
    out[2 + ip.length] = port & 0xff;
    return out;
  }
  const name = new TextEncoder().encode(destination.host);
  if (name.length === 0 || name.length > 255) throw new RangeError(`a SOCKS domain name is 1-255 bytes, got ${name.length}`);
  const out = new Uint8Array(2 + name.length + 2);
  out[0] = SOCKS.ATYP_DOMAIN;
  out[1] = name.length;
  out.set(name, 2);
  out[2 + name.length] = port >> 8;
  out[3 + name.length] = port & 0xff;
  return out;
}

/**
 * `VER REP RSV ATYP BND.ADDR BND.PORT`. Without a bound address (failures), 0.0.0.0:0, as every server
 * does.
 */
export function encodeReply(rep: number, bound?: { host: string; port: number }): Uint8Array {
  const address = encodeAddressField(bound && parseAddress(bound.host) ? { type: 'ipv4', host: bound.host, port: bound.port } : { type: 'ipv4', host: '0.0.0.0', port: 0 });
  const out = new Uint8Array(3 + address.length);
  out[0] = SOCKS.VERSION;
  out[1] = rep;
  out.set(address, 3);
  return out;
}

// ---- client side: what we send, and the server's answers -------------------------------------------------

/** `VER NMETHODS METHODS`: no-auth, plus username/password when we have credentials. */
export function encodeGreeting(withCredentials: boolean): Uint8Array {
  return withCredentials ? Uint8Array.of(SOCKS.VERSION, 2, SOCKS.METHOD_NO_AUTH, SOCKS.METHOD_USERPASS) : Uint8Array.of(SOCKS.VERSION, 1, SOCKS.METHOD_NO_AUTH);
}

/** `VER(1) ULEN UNAME PLEN PASSWD`; each field 1-255 bytes of UTF-8 (else a RangeError). */
export function encodeAuthRequest(credentials: SocksCredentials): Uint8Array {
  const user = new TextEncoder().encode(credentials.username);
  const pass = new TextEncoder().encode(credentials.password);
  if (user.length < 1 || user.length > 255 || pass.length < 1 || pass.length > 255) throw new RangeError('a SOCKS username and password are 1-255 bytes each');
  const out = new Uint8Array(3 + user.length + pass.length);
  out[0] = SOCKS.AUTH_VERSION;
  out[1] = user.length;
  out.set(user, 2);
  out[2 + user.length] = pass.length;
  out.set(pass, 3 + user.length);
  return out;
}

/** `VER CMD(CONNECT) RSV ATYP DST.ADDR DST.PORT`. */
export function encodeConnectRequest(destination: SocksDestination): Uint8Array {
  const address = encodeAddressField(destination);
  const out = new Uint8Array(3 + address.length);
  out[0] = SOCKS.VERSION;
  out[1] = SOCKS.CMD_CONNECT;
  out.set(address, 3);
  return out;
}

/** Parses the server's `VER METHOD`. */
export function parseMethodChoice(bytes: Uint8Array): SocksResult<number> {
  if (bytes.length < 2) return bytes.length === 1 && bytes[0] !== SOCKS.VERSION ? fail(`server is not SOCKS 5 (version 0x${bytes[0]!.toString(16)})`) : INCOMPLETE;
  if (bytes[0] !== SOCKS.VERSION) return fail(`server is not SOCKS 5 (version 0x${bytes[0]!.toString(16)})`);
  return ok(bytes[1]!, 2);
}

/** Parses the server's RFC 1929 `VER STATUS`: true for success. */
export function parseAuthReply(bytes: Uint8Array): SocksResult<boolean> {
  if (bytes.length < 2) return INCOMPLETE;
  if (bytes[0] !== SOCKS.AUTH_VERSION) return fail(`username/password reply version 0x${bytes[0]!.toString(16)}, expected 0x01`);
  return ok(bytes[1] === 0x00, 2);
}

/** The server's reply: REP and the bound address. */
export interface SocksReply {
  readonly reply: number;
  readonly bound: SocksDestination;
}

/** Parses the server's `VER REP RSV ATYP BND.ADDR BND.PORT`. */
export function parseReply(bytes: Uint8Array): SocksResult<SocksReply> {
  if (bytes.length < 1) return INCOMPLETE;
  if (bytes[0] !== SOCKS.VERSION) return fail(`server reply version 0x${bytes[0]!.toString(16)}, expected 0x05`);
  if (bytes.length < 3) return INCOMPLETE;
  const bound = parseAddressField(bytes, 3);
  if (bound.kind === 'incomplete') return bound;
  if (bound.kind === 'error') return fail(`server reply: ${bound.message}`);
  return ok({ reply: bytes[1]!, bound: bound.value }, bound.consumed);
}
