/**
 * The iperf3 control protocol (TCP tests), as iperf3 3.x speaks it (checked against esnet/iperf src/iperf.h,
 * iperf_api.c, iperf_client_api.c, iperf_server_api.c, iperf_tcp.c, and on the wire against iperf 3.12).
 *
 * ## Connections
 *
 * Everything goes to the server's one port (default 5201). The client opens the CONTROL connection and
 * writes the 37-byte cookie: 36 characters from [a-z2-7] plus a NUL. Then, for each data stream, it opens
 * another connection to the same port and writes the same cookie; after that a data connection carries only
 * test data (any bytes), in one direction: client to server, or server to client with `reverse`.
 *
 * ## Control messages
 *
 * A state change is ONE signed byte (the new state). Some states are followed by a JSON document, framed as a
 * 4-byte big-endian length then that many bytes of UTF-8 JSON (no NUL). A normal test, server S, client C:
 *
 *     C->S  cookie (37 bytes)
 *     S->C  PARAM_EXCHANGE (9)
 *     C->S  parameters JSON   {"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":1,"len":131072,
 *                              "pacing_timer":1000,"client_version":"3.12"}  (+ "reverse":true, "nodelay":true...)
 *     S->C  CREATE_STREAMS (10)             C opens `parallel` data connections, each writing the cookie
 *     S->C  TEST_START (1), TEST_RUNNING (2)   (once every stream is connected; usually one segment)
 *           ...data...
 *     C->S  TEST_END (4)                    (duration elapsed, or `num` bytes / `blockcount` blocks moved)
 *     S->C  EXCHANGE_RESULTS (13)
 *     C->S  results JSON, then S->C results JSON
 *     S->C  DISPLAY_RESULTS (14)
 *     C->S  IPERF_DONE (16), and C closes everything
 *
 * The server closes its data sockets as soon as it reads TEST_END. A server that is busy with a test answers
 * any other new connection with ACCESS_DENIED (-1) and closes it (iperf3: "the server is busy running a
 * test. try again later"); so does a data connection with the wrong cookie. SERVER_ERROR (-2) is followed by
 * two 32-bit big-endian integers, iperf3's error code (i_errno) and the C errno. CLIENT_TERMINATE (12) and
 * SERVER_TERMINATE (11) abort a test (Ctrl-C on either side).
 *
 * ## Results
 *
 * `{"cpu_util_total":..,"cpu_util_user":..,"cpu_util_system":..,"sender_has_retransmits":1|0|-1,
 *   "congestion_used":"cubic"?, "streams":[{"id":1,"bytes":N,"retransmits":R,"jitter":0,"errors":0,
 *   "packets":0,"start_time":0,"end_time":10.0001}]}`. `bytes` is what that side sent (if it is the stream's
 * sender) or received; `retransmits` is -1 unless the side is the sender and knows it. All cpu fields,
 * sender_has_retransmits and the stream fields up to `packets` are mandatory: iperf3 rejects results
 * without them. Stream ids are 1, 3, 4, 5, ... (iperf_add_stream numbers the second stream 3), assigned in
 * connection order on both sides; results are matched by id.
 *
 * iperf 3.12 quirk: it prints -1 as 18446744073709551615 (an unsigned 64-bit cast in its cJSON); readers here
 * turn any value >= 2^63 back into -1.
 */
import { randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';

/** Control states (iperf.h). Sent as one signed byte. */
export const IperfState = {
  TEST_START: 1,
  TEST_RUNNING: 2,
  TEST_END: 4,
  PARAM_EXCHANGE: 9,
  CREATE_STREAMS: 10,
  SERVER_TERMINATE: 11,
  CLIENT_TERMINATE: 12,
  EXCHANGE_RESULTS: 13,
  DISPLAY_RESULTS: 14,
  IPERF_START: 15,
  IPERF_DONE: 16,
  ACCESS_DENIED: -1,
  SERVER_ERROR: -2,
} as const;
export type IperfStateCode = (typeof IperfState)[keyof typeof IperfState];

const STATE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(IperfState).map(([name, code]) => [code, name]));

/** The name of a state byte ("TEST_END"), or "state N" for an unknown one. */
export function iperfStateName(state: number): string {
  return STATE_NAMES.get(state) ?? `state ${state}`;
}

/** Cookie: 36 characters + NUL. */
export const COOKIE_SIZE = 37;
const COOKIE_CHARS = 'abcdefghijklmnopqrstuvwxyz234567';

/** The iperf3 server's default port. */
export const DEFAULT_PORT = 5201;
/** The default TCP block size (iperf3 DEFAULT_TCP_BLKSIZE, 128 KiB). */
export const DEFAULT_TCP_BLKSIZE = 128 * 1024;
/** iperf3's largest block size (MAX_BLOCKSIZE, 1 MiB) and stream count (MAX_STREAMS). */
export const MAX_BLOCKSIZE = 1024 * 1024;
export const MAX_STREAMS = 128;
/** The iperf version we announce as `client_version` (the protocol level we implement). */
export const IPERF_PROTOCOL_VERSION = '3.12';

/** A fresh random cookie: 36 characters from [a-z2-7] then NUL, as iperf3's make_cookie. */
export function makeCookie(random: (max: number) => number = randomInt): Buffer {
  const cookie = Buffer.alloc(COOKIE_SIZE);
  for (let i = 0; i < COOKIE_SIZE - 1; i++) cookie[i] = COOKIE_CHARS.charCodeAt(random(COOKIE_CHARS.length));
  return cookie;
}

/** The text of a cookie (up to its NUL), for display and JSON. */
export function cookieText(cookie: Uint8Array): string {
  const nul = cookie.indexOf(0);
  return Buffer.from(cookie.subarray(0, nul < 0 ? cookie.length : nul)).toString('latin1');
}

/** iperf3 compares cookies with strcmp: equal up to and including the first NUL. */
export function cookiesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return cookieText(a) === cookieText(b);
}

/** Stream ids as iperf3 numbers them: the i-th stream (0-based) is 1, 3, 4, 5, ... */
export function iperfStreamId(index: number): number {
  return index === 0 ? 1 : index + 2;
}

/** iperf3 error codes (i_errno) this implementation sends or names (iperf_api.h). */
export const IperfError = {
  IEUNIMP: 13,
  IEENDCONDITIONS: 16,
  IEPROTOCOL: 131,
  IERECVPARAMS: 114,
  IENUMSTREAMS: 6,
  IEBLOCKSIZE: 7,
  IECLIENTTERM: 119,
  IESERVERTERM: 120,
  IEACCESSDENIED: 121,
  IESTREAMID: 208,
} as const;

const IPERF_ERROR_TEXT: ReadonlyMap<number, string> = new Map([
  [6, 'number of parallel streams too large'],
  [7, 'block size too large'],
  [13, 'an option you are trying to set is not implemented yet'],
  [16, 'only one test end condition (-t, -n, -k) may be specified'],
  [101, 'test initialization failed'],
  [102, 'unable to start listener for connections'],
  [113, 'unable to send parameters to server'],
  [114, 'unable to receive parameters from client'],
  [119, 'the client has terminated'],
  [120, 'the server has terminated'],
  [121, 'the server is busy running a test. try again later'],
  [131, 'protocol does not exist'],
  [142, 'test authorization failed'],
  [202, 'unable to start stream listener'],
  [208, 'stream has an invalid id'],
]);

/** A readable description of an iperf3 error code sent with SERVER_ERROR. */
export function iperfErrorText(code: number, errno: number): string {
  const text = IPERF_ERROR_TEXT.get(code) ?? `iperf3 error ${code}`;
  return errno !== 0 ? `${text} (errno ${errno})` : text;
}

/** A perf test failure that is not a bug: connection refused, server busy, peer error, timeout... */
export class PerfError extends Error {
  override name = 'PerfError';
}

/**
 * A set-up that cannot be as asked (a server address that is not an IP address, a client address of the
 * other family, a TUN device name given twice): the caller's mistake, which the CLI reports as bad usage.
 */
export class PerfConfigError extends PerfError {
  override name = 'PerfConfigError';
}

/** An iperf3 protocol failure: peer misbehaviour, refusal, or a closed connection. */
export class PerfProtocolError extends PerfError {
  override name = 'PerfProtocolError';
}

/** The control connection ended (EOF, reset or error) while a message was expected. */
export class ControlClosedError extends PerfProtocolError {}

/**
 * Reads exact byte counts from a Duplex: buffers 'data' events and hands out exactly the bytes asked for.
 * `detach()` stops listening and returns what was buffered but not consumed (bytes that followed a cookie).
 */
export class ExactReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private detached = false;

  constructor(private readonly socket: Duplex) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(buf);
    this.buffered += buf.length;
    this.serve();
  };
  private readonly onEnd = (): void => this.fail(new ControlClosedError('connection closed by the peer'));
  private readonly onError = (err: Error): void => this.fail(new ControlClosedError(`connection error: ${err.message}`));
  private readonly onClose = (): void => this.fail(new ControlClosedError('connection closed'));

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.serve();
  }

  private serve(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.buffered >= w.n) {
      this.waiter = undefined;
      w.resolve(this.take(w.n));
    } else if (this.failure) {
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  /** Exactly `n` bytes; rejects with ControlClosedError if the connection ends first. One read at a time. */
  read(n: number): Promise<Buffer> {
    if (this.detached) return Promise.reject(new Error('ExactReader: read after detach'));
    if (this.waiter) return Promise.reject(new Error('ExactReader: concurrent reads'));
    if (this.buffered >= n) return Promise.resolve(this.take(n));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Buffer>((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }

  /** Whether the connection has ended or failed (nothing more will arrive). */
  get closed(): boolean {
    return this.failure !== undefined;
  }

  /** Stops reading; returns the bytes received but not consumed. */
  detach(): Buffer {
    if (this.detached) return Buffer.alloc(0);
    this.detached = true;
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
    const rest = this.buffered > 0 ? this.take(this.buffered) : Buffer.alloc(0);
    if (this.waiter) {
      this.waiter.reject(new Error('ExactReader detached'));
      this.waiter = undefined;
    }
    return rest;
  }
}

/** Largest JSON message accepted from a peer (iperf3 results with server output can be big, but not this big). */
const MAX_JSON_LENGTH = 64 * 1024 * 1024;

/** The control connection: state bytes and length-prefixed JSON, both directions. */
export class ControlChannel {
  readonly reader: ExactReader;

  constructor(readonly socket: Duplex) {
    this.reader = new ExactReader(socket);
  }

  /** Reads one state byte (signed). */
  async readState(): Promise<number> {
    return (await this.reader.read(1)).readInt8(0);
  }

  /** Reads a 4-byte big-endian length and that much JSON; must be an object. */
  async readJson(): Promise<Record<string, unknown>> {
    const length = (await this.reader.read(4)).readUInt32BE(0);
    if (length > MAX_JSON_LENGTH) throw new PerfProtocolError(`peer announced a ${length}-byte JSON message`);
    const text = (await this.reader.read(length)).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new PerfProtocolError(`peer sent malformed JSON (${length} bytes)`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new PerfProtocolError('peer sent JSON that is not an object');
    }
    return value as Record<string, unknown>;
  }

  /** Reads the two 32-bit integers that follow SERVER_ERROR. */
  async readServerError(): Promise<{ code: number; errno: number }> {
    const b = await this.reader.read(8);
    return { code: b.readInt32BE(0), errno: b.readInt32BE(4) };
  }

  /** Writes one state byte; resolves once handed to the transport (rejects if the connection is gone). */
  writeState(state: number): Promise<void> {
    const b = Buffer.alloc(1);
    b.writeInt8(state, 0);
    return writeAsync(this.socket, b);
  }

  /** Writes a length-prefixed JSON message (compact, like cJSON_PrintUnformatted). */
  writeJson(value: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(value), 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length, 0);
    return writeAsync(this.socket, Buffer.concat([head, body]));
  }

  /** Writes SERVER_ERROR with its two integers. */
  writeServerError(code: number, errno = 0): Promise<void> {
    const b = Buffer.alloc(9);
    b.writeInt8(IperfState.SERVER_ERROR, 0);
    b.writeInt32BE(code, 1);
    b.writeInt32BE(errno, 5);
    return writeAsync(this.socket, b);
  }
}

/** `socket.write` as a promise (resolves when flushed to the transport). */
export function writeAsync(socket: Duplex, data: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (socket.destroyed || socket.writableEnded) {
      reject(new ControlClosedError('connection closed'));
      return;
    }
    socket.write(data, (err) => (err ? reject(new ControlClosedError(`write failed: ${err.message}`)) : resolve()));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Parameters

/** The test parameters the client sends (the subset of iperf3's that matters for TCP). */
export interface IperfParams {
  readonly protocol: 'tcp' | 'udp' | 'sctp' | 'unknown';
  /** Seconds to omit at the start (`-O`). */
  readonly omit: number;
  /** Test duration in seconds; 0 when the test ends on bytes or blocks. */
  readonly time: number;
  /** Bytes to transfer (`-n`), 0 if unset. */
  readonly num: number;
  /** Blocks to transfer (`-k`), 0 if unset. */
  readonly blockcount: number;
  readonly parallel: number;
  readonly reverse: boolean;
  readonly bidirectional: boolean;
  /** Block size (`-l`). */
  readonly len: number;
  readonly nodelay: boolean;
  /** MSS (`-M`), socket buffer (`-w`), target bitrate (`-b`): accepted, 0 if unset. */
  readonly mss: number;
  readonly window: number;
  readonly bandwidth: number;
  readonly title?: string;
  readonly congestion?: string;
  readonly getServerOutput: boolean;
  readonly clientVersion?: string;
}

/** The parameters JSON, field for field as iperf3's send_parameters writes it for a TCP test. */
export function encodeParams(p: IperfParams): Record<string, unknown> {
  const j: Record<string, unknown> = {};
  if (p.protocol !== 'unknown') j[p.protocol] = true;
  j['omit'] = p.omit;
  j['time'] = p.time;
  j['num'] = p.num;
  j['blockcount'] = p.blockcount;
  if (p.mss) j['MSS'] = p.mss;
  if (p.nodelay) j['nodelay'] = true;
  j['parallel'] = p.parallel;
  if (p.reverse) j['reverse'] = true;
  if (p.bidirectional) j['bidirectional'] = true;
  if (p.window) j['window'] = p.window;
  if (p.len) j['len'] = p.len;
  if (p.bandwidth) j['bandwidth'] = p.bandwidth;
  j['pacing_timer'] = 1000;
  if (p.title !== undefined) j['title'] = p.title;
  if (p.congestion !== undefined) j['congestion'] = p.congestion;
  if (p.getServerOutput) j['get_server_output'] = 1;
  j['client_version'] = p.clientVersion ?? IPERF_PROTOCOL_VERSION;
  return j;
}

/**
 * Reads a parameters JSON the way iperf3's get_parameters does: missing fields keep iperf3's defaults
 * (time 10, parallel 1, len 128 KiB), presence of a boolean key means true.
 */
export function decodeParams(j: Record<string, unknown>): IperfParams {
  const num = (key: string, fallback: number): number => {
    const v = j[key];
    return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : fallback;
  };
  const str = (key: string): string | undefined => (typeof j[key] === 'string' ? (j[key] as string) : undefined);
  const protocol = 'udp' in j ? 'udp' : 'sctp' in j ? 'sctp' : 'tcp' in j ? 'tcp' : 'tcp';
  const params: IperfParams = {
    protocol,
    omit: num('omit', 0),
    time: num('time', 10),
    num: num('num', 0),
    blockcount: num('blockcount', 0),
    parallel: num('parallel', 1),
    reverse: 'reverse' in j,
    bidirectional: 'bidirectional' in j,
    len: num('len', DEFAULT_TCP_BLKSIZE),
    nodelay: 'nodelay' in j,
    mss: num('MSS', 0),
    window: num('window', 0),
    bandwidth: num('bandwidth', 0),
    getServerOutput: 'get_server_output' in j,
  };
  const title = str('title');
  const congestion = str('congestion');
  const clientVersion = str('client_version');
  return {
    ...params,
    ...(title !== undefined ? { title } : {}),
    ...(congestion !== undefined ? { congestion } : {}),
    ...(clientVersion !== undefined ? { clientVersion } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Results

/** One stream's line in a results message. */
export interface IperfStreamResult {
  readonly id: number;
  readonly bytes: number;
  /** -1: unknown (receiver side, or no TCP_INFO). */
  readonly retransmits: number;
  readonly jitter: number;
  readonly errors: number;
  readonly packets: number;
  readonly startTime: number;
  readonly endTime: number;
}

/** A results message. */
export interface IperfResults {
  readonly cpuUtilTotal: number;
  readonly cpuUtilUser: number;
  readonly cpuUtilSystem: number;
  /** 1: the sender reports retransmits; 0: it cannot; -1: this side was the receiver. */
  readonly senderHasRetransmits: number;
  readonly congestionUsed?: string;
  readonly streams: readonly IperfStreamResult[];
  /** The server's output, when the client asked for it (`--get-server-output`). */
  readonly serverOutputText?: string;
  readonly serverOutputJson?: unknown;
}

export function encodeResults(r: IperfResults): Record<string, unknown> {
  const j: Record<string, unknown> = {
    cpu_util_total: r.cpuUtilTotal,
    cpu_util_user: r.cpuUtilUser,
    cpu_util_system: r.cpuUtilSystem,
    sender_has_retransmits: r.senderHasRetransmits,
  };
  if (r.congestionUsed !== undefined) j['congestion_used'] = r.congestionUsed;
  if (r.serverOutputJson !== undefined) j['server_output_json'] = r.serverOutputJson;
  if (r.serverOutputText !== undefined) j['server_output_text'] = r.serverOutputText;
  j['streams'] = r.streams.map((s) => ({
    id: s.id,
    bytes: s.bytes,
    retransmits: s.retransmits,
    jitter: s.jitter,
    errors: s.errors,
    packets: s.packets,
    start_time: s.startTime,
    end_time: s.endTime,
  }));
  return j;
}

/** A JSON number as iperf3 meant it: values printed from a negative int64 cast to unsigned become negative again. */
export function iperfNumber(v: unknown): number | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  // A negative int64 printed as unsigned; a double cannot tell which one (2^64 - 1 rounds to 2^64), and
  // iperf3 only ever sends -1 this way.
  if (v >= 2 ** 63) return -1;
  return v;
}

/** Parses a results message; throws PerfProtocolError if a mandatory field is missing (as iperf3's get_results). */
export function decodeResults(j: Record<string, unknown>): IperfResults {
  const need = (obj: Record<string, unknown>, key: string, what: string): number => {
    const v = iperfNumber(obj[key]);
    if (v === undefined) throw new PerfProtocolError(`peer results: missing or bad '${key}' in ${what}`);
    return v;
  };
  const cpuUtilTotal = need(j, 'cpu_util_total', 'results');
  const cpuUtilUser = need(j, 'cpu_util_user', 'results');
  const cpuUtilSystem = need(j, 'cpu_util_system', 'results');
  const senderHasRetransmits = Math.sign(need(j, 'sender_has_retransmits', 'results'));
  const streamsValue = j['streams'];
  if (!Array.isArray(streamsValue)) throw new PerfProtocolError("peer results: missing 'streams'");
  const streams = streamsValue.map((s: unknown, i): IperfStreamResult => {
    if (typeof s !== 'object' || s === null) throw new PerfProtocolError(`peer results: stream ${i} is not an object`);
    const o = s as Record<string, unknown>;
    const what = `stream ${i}`;
    const retransmits = need(o, 'retransmits', what);
    return {
      id: need(o, 'id', what),
      bytes: need(o, 'bytes', what),
      retransmits: retransmits < 0 || retransmits >= 2 ** 31 - 1 ? -1 : retransmits,
      jitter: need(o, 'jitter', what),
      errors: need(o, 'errors', what),
      packets: need(o, 'packets', what),
      startTime: iperfNumber(o['start_time']) ?? 0,
      endTime: iperfNumber(o['end_time']) ?? 0,
    };
  });
  const congestion = j['congestion_used'];
  const text = j['server_output_text'];
  return {
    cpuUtilTotal,
    cpuUtilUser,
    cpuUtilSystem,
    senderHasRetransmits,
    streams,
    ...(typeof congestion === 'string' ? { congestionUsed: congestion } : {}),
    ...(typeof text === 'string' ? { serverOutputText: text } : {}),
    ...(j['server_output_json'] !== undefined ? { serverOutputJson: j['server_output_json'] } : {}),
  };
}
