/**
 * The perf server: serves iperf3 TCP tests, one at a time, to iperf3 clients or `runPerfClient`, over any
 * PerfTransport. Like iperf3 -s, a connection that arrives while a test runs gets ACCESS_DENIED ("the server is
 * busy"), except the data streams of the current test while they are expected (CREATE_STREAMS, right cookie).
 * A client that disappears mid-test ends that test only; the server goes back to listening (or, with
 * `oneOff`, stops after the first test however it ended).
 */
import {
  ControlChannel,
  ControlClosedError,
  COOKIE_SIZE,
  cookiesEqual,
  cookieText,
  DEFAULT_PORT,
  decodeParams,
  decodeResults,
  encodeResults,
  ExactReader,
  IperfError,
  IperfState,
  iperfStateName,
  iperfStreamId,
  MAX_BLOCKSIZE,
  MAX_STREAMS,
  PerfError,
  PerfProtocolError,
  type IperfParams,
  type IperfResults,
} from './iperf3-protocol.js';
import { DataStream, SendBudget } from './data-stream.js';
import { connectedJson, connectedLine, fallbackLine, displayAddress, systemInfo, TestRecorder, type PerfClock, type PerfOutput, type PerfTestResult } from './report.js';
import { raceWith, Signal, sleep, Ticker, withTimeout } from './timing.js';
import { nodeNetTransport, type PerfListener, type PerfSocket, type PerfTransport } from './transport.js';

export interface PerfServerOptions {
  /** Port to listen on (default 5201; 0: any free port, see `PerfServer.port`). */
  readonly port?: number;
  /** Address to listen on (`-B`; default: all). */
  readonly bind?: string;
  /** Serve one test, then stop (`-1`). */
  readonly oneOff?: boolean;
  /** Print one iperf3-like JSON document per test instead of text. */
  readonly json?: boolean;
  /** Seconds between interval reports (default 1; 0: none). */
  readonly interval?: number;
  /** Limit for each step of a test's set-up (cookie, parameters, data connections), ms (default 10 s). */
  readonly setupTimeoutMs?: number;
  /** Grace period after the announced duration before a timed test is abandoned, ms (default 10 s). */
  readonly graceMs?: number;
  readonly io?: PerfOutput;
  readonly clock?: PerfClock;
  /** Aborting stops the server (a running test gets SERVER_TERMINATE). */
  readonly signal?: AbortSignal;
  /** Called when a test ends, with its result (complete or not). */
  readonly onTest?: (result: PerfTestResult) => void;
  /** Prefix of error lines ("mptcp perf"). */
  readonly name?: string;
  /** The version string put in the JSON output. */
  readonly version?: string;
}

/** A running server. */
export interface PerfServer {
  /** The port it listens on. */
  readonly port: number;
  /** Results of the tests served so far. */
  readonly results: readonly PerfTestResult[];
  /** Resolves when the server has stopped (after `close()`, an abort, or the one test of `oneOff`). */
  readonly done: Promise<void>;
  /** Stops listening and terminates a running test. */
  close(): Promise<void>;
}

const silent: PerfOutput = { stdout: () => undefined, stderr: () => undefined };
const BANNER = '-----------------------------------------------------------\n';

/** Starts a server; resolves once it listens (rejects if the port cannot be bound). */
export async function startPerfServer(options: PerfServerOptions = {}, transport: PerfTransport = nodeNetTransport): Promise<PerfServer> {
  const io = options.io ?? silent;
  const json = options.json ?? false;
  const name = options.name ?? 'mptcp perf';
  const results: PerfTestResult[] = [];
  const done = new Signal<void>();
  let closing = false;
  let active: ServerTest | undefined;
  let testNumber = 1;
  let queue: Promise<void> = Promise.resolve();

  const text = (s: string) => {
    if (!json) io.stdout(s);
  };
  const banner = (port: number) => text(`${BANNER}Server listening on ${port} (test #${testNumber})\n${BANNER}`);

  let listener: PerfListener;
  const requestedPort = options.port ?? DEFAULT_PORT;
  try {
    listener = await transport.listen(requestedPort, options.bind, (socket) => {
      socket.on('error', () => undefined); // until a handler takes over; errors here only mean "gone"
      queue = queue.then(() => onConnection(socket)).catch(() => undefined);
    });
  } catch (err) {
    throw new PerfError(`unable to listen on port ${requestedPort}${options.bind ? ` (${options.bind})` : ''}: ${(err as Error).message}`);
  }

  const shutdown = async (): Promise<void> => {
    if (closing) return done.promise;
    closing = true;
    options.signal?.removeEventListener('abort', onAbort);
    await listener.close().catch(() => undefined);
    if (active) await active.terminate();
    done.resolve();
  };
  const onAbort = () => void shutdown();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) void shutdown();

  const deny = (socket: PerfSocket) => {
    // iperf3 answers ACCESS_DENIED without reading anything, then closes. Drain what the client sends so the
    // close does not turn into a reset that could destroy the answer in flight.
    socket.on('data', () => undefined);
    socket.end(Buffer.from([0xff]));
    const timer = setTimeout(() => socket.destroy(), 2000);
    socket.once('close', () => clearTimeout(timer));
  };

  const onConnection = async (socket: PerfSocket): Promise<void> => {
    if (closing) {
      socket.destroy();
      return;
    }
    if (!active) {
      socket.setNoDelay?.(true); // the control connection: small messages, no Nagle
      const test = new ServerTest(socket, options, transport, io, name);
      active = test;
      void test.run().then((result) => {
        active = undefined;
        testNumber++;
        if (result) {
          results.push(result);
          options.onTest?.(result);
        }
        if (options.oneOff) void shutdown();
        else if (!closing) banner(listener.port);
      });
      return;
    }
    if (!active.acceptingStreams) {
      deny(socket);
      return;
    }
    const reader = new ExactReader(socket);
    let cookie: Buffer;
    try {
      cookie = await withTimeout(reader.read(COOKIE_SIZE), options.setupTimeoutMs ?? 10_000, 'no cookie');
    } catch {
      reader.detach();
      socket.destroy();
      return;
    }
    const leftover = reader.detach();
    if (active?.acceptingStreams && cookiesEqual(cookie, active.cookie)) active.addStream(socket, leftover);
    else deny(socket);
  };

  banner(listener.port);
  return {
    port: listener.port,
    results,
    done: done.promise,
    close: shutdown,
  };
}

/** Runs a server until it stops (`oneOff` test served, or `signal` aborted). */
export async function runPerfServer(options: PerfServerOptions = {}, transport: PerfTransport = nodeNetTransport): Promise<readonly PerfTestResult[]> {
  const server = await startPerfServer(options, transport);
  await server.done;
  return server.results;
}

/** Checks a client's parameters; returns the iperf3 error code to refuse them with, or undefined. */
function refuse(p: IperfParams): { code: number; why: string } | undefined {
  if (p.protocol !== 'tcp') return { code: IperfError.IEUNIMP, why: `${p.protocol.toUpperCase()} tests are not supported (TCP only)` };
  if (p.bidirectional && p.reverse) return { code: IperfError.IEUNIMP, why: 'a test both reverse and bidirectional requested' };
  if (p.parallel < 1 || p.parallel > MAX_STREAMS) return { code: IperfError.IENUMSTREAMS, why: `${p.parallel} parallel streams requested` };
  if (p.len < 1 || p.len > MAX_BLOCKSIZE) return { code: IperfError.IEBLOCKSIZE, why: `block size ${p.len} requested` };
  return undefined;
}

/** How many data connections a test has: `parallel`, twice that with --bidir. */
function streamCount(p: IperfParams): number {
  return p.bidirectional ? 2 * p.parallel : p.parallel;
}

/** One test on the server, from the control connection's cookie to IPERF_DONE. */
class ServerTest {
  cookie: Buffer = Buffer.alloc(0);
  acceptingStreams = false;
  private readonly ctrl: ControlChannel;
  private readonly streams: DataStream[] = [];
  private readonly streamsReady = new Signal<void>();
  private readonly interrupt = new Signal<never>();
  private params: IperfParams | undefined;
  private recorder: TestRecorder | undefined;
  private ticker: Ticker | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly clock: PerfClock;
  private readonly json: boolean;
  private jsonStart: Record<string, unknown> = {};
  private finished = false;

  constructor(
    private readonly socket: PerfSocket,
    private readonly options: PerfServerOptions,
    private readonly transport: PerfTransport,
    private readonly io: PerfOutput,
    private readonly name: string,
  ) {
    this.ctrl = new ControlChannel(socket);
    this.clock = options.clock ?? (() => performance.now());
    this.json = options.json ?? false;
  }

  private text(s: string): void {
    if (!this.json) this.io.stdout(s);
  }

  private error(message: string): void {
    this.io.stderr(`${this.name}: ${message}\n`);
  }

  /** Adds a data connection that presented the right cookie. */
  addStream(socket: PerfSocket, leftover: Uint8Array): void {
    const p = this.params;
    if (!p || !this.acceptingStreams) {
      socket.destroy();
      return;
    }
    if (p.nodelay) socket.setNoDelay?.(true);
    // --bidir: the client opens its `parallel` sending streams first, then the ones we send on.
    const sender = p.bidirectional ? this.streams.length >= p.parallel : p.reverse;
    const stream = new DataStream(iperfStreamId(this.streams.length), sender, socket, leftover, {
      onError: (st, err) => {
        if (this.recorder?.isStarted && !this.finished) this.interrupt.reject(new PerfError(`data stream ${st.id}: ${err.message}`));
      },
    });
    this.streams.push(stream);
    (this.jsonStart['connected'] as unknown[]).push(connectedJson(stream.id, socket));
    this.text(connectedLine(stream.id, socket));
    this.text(fallbackLine(stream.id, socket));
    if (this.streams.length === streamCount(p)) {
      this.acceptingStreams = false;
      this.streamsReady.resolve();
    }
  }

  /** Ends the test from the server side (server shutting down). */
  async terminate(): Promise<void> {
    // Past TEST_END only the wait for the client's IPERF_DONE is left: end it (and the test's timers).
    if (!this.finished) await withTimeout(this.ctrl.writeState(IperfState.SERVER_TERMINATE), 1000, '').catch(() => undefined);
    this.interrupt.reject(new PerfError('the server is shutting down'));
    await sleep(0);
  }

  /**
   * The client stopped sending before it sent TEST_END, but its last bytes may still be in flight or queued
   * in our receive buffers: read until the streams stay quiet for a moment (bounded), so that the receiver's
   * count includes them. (iperf3 closes at once and loses them; the count it reports is then lower.)
   */
  private async drainReceivers(quietMs = 20, maxMs = 500): Promise<void> {
    const receivers = this.streams.filter((s) => !s.sender && !s.ended);
    if (receivers.length === 0) return;
    const deadline = this.clock() + maxMs;
    let before = -1;
    for (;;) {
      const now = receivers.reduce((a, s) => a + s.bytes, 0);
      if (now === before || this.clock() >= deadline || receivers.every((s) => s.ended)) return;
      before = now;
      await sleep(quietMs);
    }
  }

  private cleanup(): void {
    this.finished = true;
    this.acceptingStreams = false;
    this.ticker?.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    for (const s of this.streams) s.destroy();
    if (!this.socket.destroyed) this.socket.destroy();
  }

  /** Runs the test; resolves with its result (undefined if it never started), never rejects. */
  async run(): Promise<PerfTestResult | undefined> {
    const setup = this.options.setupTimeoutMs ?? 10_000;
    let peer: IperfResults | undefined;
    try {
      this.cookie = await raceWith(withTimeout(this.ctrl.reader.read(COOKIE_SIZE), setup, 'timed out waiting for the client cookie'), this.interrupt);
      const remote = this.socket;
      const now = new Date();
      this.jsonStart = {
        connected: [] as unknown[],
        version: this.options.version ?? 'mptcp perf',
        system_info: systemInfo(),
        timestamp: { time: now.toUTCString(), timesecs: Math.floor(now.getTime() / 1000) },
        accepted_connection: { host: displayAddress(remote.remoteAddress), port: remote.remotePort ?? 0 },
        cookie: cookieText(this.cookie),
        transport: this.transport.name ?? 'custom',
      };
      this.text(`Accepted connection from ${displayAddress(remote.remoteAddress)}, port ${remote.remotePort ?? '?'}\n`);
      await this.ctrl.writeState(IperfState.PARAM_EXCHANGE);
      const p = decodeParams(await raceWith(withTimeout(this.ctrl.readJson(), setup, 'timed out waiting for the test parameters'), this.interrupt));
      this.params = p;
      const refusal = refuse(p);
      if (refusal) {
        await this.ctrl.writeServerError(refusal.code, 0).catch(() => undefined);
        throw new PerfError(`refused the test: ${refusal.why}`);
      }
      const bytesLimit = p.num > 0 ? p.num : p.blockcount > 0 ? p.blockcount * p.len : 0;
      this.jsonStart['test_start'] = {
        protocol: 'TCP',
        num_streams: p.parallel,
        blksize: p.len,
        omit: p.omit,
        duration: p.time,
        bytes: p.num,
        blocks: p.blockcount,
        reverse: p.reverse ? 1 : 0,
        tos: 0,
      };
      if (p.title !== undefined) this.jsonStart['title'] = p.title;

      this.acceptingStreams = true;
      await this.ctrl.writeState(IperfState.CREATE_STREAMS);
      await raceWith(withTimeout(this.streamsReady.promise, setup, `timed out waiting for ${streamCount(p)} data connection(s)`), this.interrupt);

      const recorder = new TestRecorder({
        role: 'server',
        reverse: p.reverse,
        bidir: p.bidirectional,
        cookie: cookieText(this.cookie),
        streams: this.streams,
        io: this.io,
        json: this.json,
        interval: this.options.interval ?? 1,
        omitting: p.omit > 0,
        clock: this.clock,
        jsonStart: this.jsonStart,
      });
      this.recorder = recorder;
      const budget = new SendBudget(bytesLimit > 0 ? bytesLimit : Infinity);
      await this.ctrl.writeState(IperfState.TEST_START);
      recorder.start();
      this.ticker = new Ticker(this.options.interval ?? 1, this.clock, () => recorder.tick());
      this.ticker.start();
      if (p.omit > 0) {
        this.timers.push(
          setTimeout(() => {
            recorder.omitDone();
            this.ticker?.start();
            if (bytesLimit > 0 && (p.reverse || p.bidirectional)) {
              budget.refill(bytesLimit);
              for (const s of this.streams) s.startSending(Buffer.alloc(p.len, 0x61), budget, p.bandwidth);
            }
          }, p.omit * 1000),
        );
      }
      if (p.time > 0) {
        const limit = (p.time + p.omit) * 1000 + (this.options.graceMs ?? 10_000);
        this.timers.push(setTimeout(() => this.interrupt.reject(new PerfError(`the client did not end the ${p.time}-second test in time`)), limit));
      }
      await this.ctrl.writeState(IperfState.TEST_RUNNING);
      if (p.reverse || p.bidirectional) for (const s of this.streams) s.startSending(Buffer.alloc(p.len, 0x61), budget, p.bandwidth);

      for (;;) {
        const state = await raceWith(this.ctrl.readState(), this.interrupt);
        if (state === IperfState.TEST_START || state === IperfState.TEST_RUNNING) continue;
        if (state === IperfState.TEST_END) {
          this.ticker.stop();
          // Sending (-R) with counts of what the transport took: the test ends at TEST_END exactly, and what
          // was not taken is dropped (as iperf3's sender stops writing); else the issued writes complete first.
          const now = this.streams.some((s) => s.sender) && this.streams.every((s) => !s.sender || s.countsAccepted);
          if (now) recorder.finish();
          for (const s of this.streams) s.stopSending(now);
          await Promise.all(this.streams.map((s) => s.flushed(500)));
          if (!now) recorder.finish(); // the test's duration ends here; bytes still arriving are counted (drain)
          await this.drainReceivers();
          for (const s of this.streams) s.destroy(); // as iperf3: data connections close at TEST_END
          this.finished = true;
          await this.ctrl.writeState(IperfState.EXCHANGE_RESULTS);
          peer = decodeResults(await withTimeout(this.ctrl.readJson(), setup, 'timed out waiting for the client results'));
          await this.ctrl.writeJson(encodeResults(recorder.results()));
          await this.ctrl.writeState(IperfState.DISPLAY_RESULTS);
          const result = recorder.summarize(peer);
          // The client answers IPERF_DONE and closes; either is the end.
          // (Raced with the interrupt: close() must not wait out a long setup timeout here.)
          await raceWith(withTimeout(this.ctrl.readState(), setup, ''), this.interrupt).catch(() => undefined);
          this.cleanup();
          return result;
        }
        if (state === IperfState.CLIENT_TERMINATE) throw new PerfError('the client has terminated');
        if (state === IperfState.IPERF_DONE) throw new PerfError('the client ended the test early');
        throw new PerfProtocolError(`received an unexpected control message from the client: ${iperfStateName(state)}`);
      }
    } catch (caught) {
      const err = caught instanceof ControlClosedError ? new PerfError('the client has unexpectedly closed the connection') : (caught as Error);
      this.ticker?.stop();
      for (const t of this.timers) clearTimeout(t);
      let result: PerfTestResult | undefined;
      if (this.recorder?.isStarted) {
        this.recorder.finish();
        result = this.recorder.summarize(peer, { error: err.message });
      }
      this.error(err.message);
      this.cleanup();
      return result;
    }
  }
}
