/**
 * The request head an HTTP client sends to a forward proxy: a pure parser. Read RFC 9110 sections 7.1 and
 * 9.3.6 (CONNECT), and RFC 9112 sections 2-3 (message format, request line, absolute-form) and 3.2.2
 * ("a proxy MUST ignore the received Host header field ... and instead replace it with the host
 * information of the request-target").
 *
 * Two kinds of request are proxied:
 * - `CONNECT host:port HTTP/1.1` (authority-form): a tunnel; the proxy answers `200` and relays bytes.
 * - `GET http://host[:port]/path HTTP/1.1` (absolute-form, any method, plain HTTP only): the proxy
 *   connects to host:port and sends the same request in origin-form (`GET /path`), with Host set from the
 *   URI, the hop-by-hop headers (Connection and what it names, Proxy-Connection, Proxy-Authorization,
 *   Keep-Alive) removed and `Connection: close` added: the origin ends the connection after its response,
 *   so a client's next request (perhaps to another host) comes on a new connection. The rest of the
 *   stream (a request body) is relayed as it is.
 *
 * `parseProxyRequest` takes the bytes received so far and never throws: `incomplete`, an `error` with the
 * status code to answer (400, 405, 414, 431, 505), or the request and the bytes its head took.
 */
import { parseAddress } from '../wire/address.js';

/** The longest request head accepted (request line and headers); beyond it: 431. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** A parsed proxy request. */
export type HttpProxyRequest =
  | {
      readonly kind: 'connect';
      readonly host: string;
      readonly port: number;
      /** The Proxy-Authorization value, if any (for the proxy's own check). */
      readonly proxyAuthorization: string | undefined;
    }
  | {
      readonly kind: 'forward';
      readonly host: string;
      readonly port: number;
      /** The head to send to the origin: origin-form request line, headers rewritten, ending in CRLFCRLF. */
      readonly head: Uint8Array;
      readonly proxyAuthorization: string | undefined;
    };

export type HttpParseResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'error'; readonly status: number; readonly message: string }
  | { readonly kind: 'ok'; readonly value: HttpProxyRequest; readonly consumed: number };

/** The reason phrases of the statuses this proxy sends. */
export const HTTP_REASON: Readonly<Record<number, string>> = {
  200: 'Connection Established',
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** A whole response head with no body (`Connection: close` unless 200 to a CONNECT). */
export function encodeHttpResponse(status: number, extraHeaders: readonly string[] = []): Uint8Array {
  const reason = HTTP_REASON[status] ?? 'Error';
  const lines = [`HTTP/1.1 ${status} ${reason}`, ...extraHeaders];
  if (status !== 200) lines.push('Content-Length: 0', 'Connection: close');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'host']);

function error(status: number, message: string): HttpParseResult {
  return { kind: 'error', status, message };
}

/** The end of the head: the index after the empty line (CRLF CRLF, or bare LF LF), or -1. */
function headEnd(bytes: Uint8Array): number {
  for (let i = 1; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i - 1] === 0x0a) return i + 1;
    if (bytes[i - 1] === 0x0d && i >= 2 && bytes[i - 2] === 0x0a) return i + 1;
  }
  return -1;
}

/** `host:port` (IPv6 in brackets) with a port, or with `defaultPort`; undefined when malformed. */
export function parseAuthority(text: string, defaultPort: number | undefined): { host: string; port: number } | undefined {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    host = text.slice(1, close);
    if (!parseAddress(host) || !host.includes(':')) return undefined;
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    if (!/^[0-9A-Za-z._-]{1,253}$/.test(host)) return undefined;
  }
  if (portText === undefined) return defaultPort === undefined ? undefined : { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** Parses a proxy request head from the start of `bytes`. Never throws. */
export function parseProxyRequest(bytes: Uint8Array): HttpParseResult {
  const end = headEnd(bytes.length > MAX_HEAD_BYTES ? bytes.subarray(0, MAX_HEAD_BYTES) : bytes);
  if (end < 0) return bytes.length >= MAX_HEAD_BYTES ? error(431, `request head longer than ${MAX_HEAD_BYTES} bytes`) : { kind: 'incomplete' };
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('latin1');
  const lines = text.split(/\r?\n/);
  lines.length -= 2; // the empty line, and what follows the last LF
  const requestLine = lines[0] ?? '';
  const m = /^(\S+) (\S+) HTTP\/(\d)\.(\d)$/.exec(requestLine);
  if (!m) return error(400, `bad request line '${requestLine.slice(0, 80)}'`);
  const [, method, target, major, minor] = m as unknown as [string, string, string, string, string];
  if (!TOKEN.test(method)) return error(400, `bad method '${method.slice(0, 40)}'`);
  if (major !== '1') return error(505, `HTTP/${major}.${minor} is not supported (HTTP/1.x only)`);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) return error(400, 'obsolete line folding in a header');
    const colon = line.indexOf(':');
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) return error(400, `bad header line '${line.slice(0, 80)}'`);
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  const header = (name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1];
  const proxyAuthorization = header('proxy-authorization');
  if (method === 'CONNECT') {
    const authority = parseAuthority(target, undefined);
    if (!authority) return error(400, `CONNECT target '${target.slice(0, 80)}' is not host:port`);
    return { kind: 'ok', value: { kind: 'connect', ...authority, proxyAuthorization }, consumed: end };
  }
  const uri = /^http:\/\/([^/?#]*)([^#]*)/i.exec(target);
  if (!uri) {
    if (/^https:\/\//i.test(target)) return error(400, 'https:// URIs go through CONNECT');
    return error(400, `not a proxy request: the target '${target.slice(0, 80)}' is not an absolute http:// URI`);
  }
  if (uri[1]!.includes('@')) return error(400, 'userinfo in the request URI');
  const authority = parseAuthority(uri[1]!, 80);
  if (!authority) return error(400, `bad host in '${target.slice(0, 80)}'`);
  let path = uri[2]!;
  if (path === '') path = '/';
  else if (path.startsWith('?')) path = `/${path}`;
  const named = new Set(
    (header('connection') ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== ''),
  );
  const hostHeader = uri[1]!;
  const out = [`${method} ${path} HTTP/${major}.${minor}`, `Host: ${hostHeader}`];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out.push(`${name}: ${value}`);
  }
  out.push('Connection: close');
  const head = Buffer.from(`${out.join('\r\n')}\r\n\r\n`, 'latin1');
  return { kind: 'ok', value: { kind: 'forward', ...authority, head, proxyAuthorization }, consumed: end };
}
