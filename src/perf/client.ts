/**
 * The perf client: runs one iperf3 TCP test against an iperf3-compatible server (iperf3 itself, or
 * `startPerfServer`) over any PerfTransport. See ./iperf3-protocol.ts for the message sequence.
 */
import {
  ControlChannel,
  ControlClosedError,
  cookieText,
  DEFAULT_PORT,
  DEFAULT_TCP_BLKSIZE,
  decodeResults,
  encodeParams,
  encodeResults,
  IperfState,
  iperfErrorText,
  iperfStreamId,
  makeCookie,
  MAX_BLOCKSIZE,
  MAX_STREAMS,
  PerfError,
  PerfProtocolError,
  writeAsync,
  type IperfResults,
} from './iperf3-protocol.js';
import { DataStream, SendBudget } from './data-stream.js';
import { connectedJson, connectedLine, fallbackLine, systemInfo, TestRecorder, type PerfClock, type PerfOutput, type PerfTestResult } from './report.js';
import { raceWith, Signal, Ticker, withTimeout } from './timing.js';
import { nodeNetTransport, type PerfConnectOptions, type PerfSocket, type PerfTransport } from './transport.js';

export interface PerfClientOptions {
  /** Server host name or address. */
  readonly host: string;
  /** Server port (default 5201). */
  readonly port?: number;
  /** Test length in seconds (default 10); ignored when `bytes` or `blocks` is set. */
  readonly duration?: number;
  /** Bytes to transfer (iperf3 `-n`), in total over all streams. */
  readonly bytes?: number;
  /** Blocks of `blockSize` to transfer (iperf3 `-k`). */
  readonly blocks?: number;
  /** Server sends, client receives (`-R`). */
  readonly reverse?: boolean;
  /**
   * Both directions at once (`--bidir`): `parallel` streams client to server and as many server to client
   * (opened after them, as iperf3 does), reported per direction with iperf3's [TX-C]/[RX-C] roles.
   */
  readonly bidir?: boolean;
  /** Seconds between interval reports (default 1; 0: none). */
  readonly interval?: number;
  /** Parallel streams (`-P`, default 1). */
  readonly parallel?: number;
  /** Block size in bytes (`-l`, default 128 KiB). */
  readonly blockSize?: number;
  /** Seconds to omit at the start (`-O`, default 0). */
  readonly omit?: number;
  /** Target bitrate of each stream, bits per second (`-b`; default 0: unlimited), sent to the server for `-R`. */
  readonly bitrate?: number;
  /** Socket buffer of the data streams (`-w`, bytes) and their MSS (`-M`), sent to the server too. */
  readonly windowBytes?: number;
  readonly mss?: number;
  /** Disable Nagle on data streams (`-N`). */
  readonly noDelay?: boolean;
  /** Local address to bind (`-B`). */
  readonly bind?: string;
  /** Local port for the data streams (`--cport`; stream i binds cport + i, as iperf3). */
  readonly cport?: number;
  /** Address family for name resolution (`-4` / `-6`). */
  readonly family?: 4 | 6;
  /** A title sent to the server (`-T`). */
  readonly title?: string;
  /** `-C`: the congestion control the server is asked to use (iperf3's "congestion" parameter). */
  readonly congestion?: string;
  /** Print an iperf3-like JSON document at the end instead of text. */
  readonly json?: boolean;
  /** Give up connecting after this many milliseconds (default: the transport's own limit). */
  readonly connectTimeoutMs?: number;
  /** How long to wait for each control message before the test starts and after it ends (default 30 s). */
  readonly controlTimeoutMs?: number;
  /** Output; default: none. */
  readonly io?: PerfOutput;
  /** Monotonic milliseconds (default performance.now). */
  readonly clock?: PerfClock;
  /** Aborting sends CLIENT_TERMINATE and ends the test (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** The version string put in the JSON output ("mptcp perf x.y.z"). */
  readonly version?: string;
}

const silent: PerfOutput = { stdout: () => undefined, stderr: () => undefined };

/** How long a stopped sender may take to hand its last writes to the transport before TEST_END goes out. */
const FLUSH_TIMEOUT_MS = 3000;

/** Checks client options the way iperf3's argument parser does; throws PerfError. */
export function validateClientOptions(o: PerfClientOptions): void {
  const parallel = o.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > MAX_STREAMS) throw new PerfError(`number of parallel streams must be 1-${MAX_STREAMS}`);
  const len = o.blockSize ?? DEFAULT_TCP_BLKSIZE;
  if (!Number.isInteger(len) || len < 1 || len > MAX_BLOCKSIZE) throw new PerfError(`block size must be 1-${MAX_BLOCKSIZE} bytes`);
  const ends = [o.duration !== undefined, o.bytes !== undefined, o.blocks !== undefined].filter(Boolean).length;
  if (ends > 1) throw new PerfError('only one test end condition (-t, -n, -k) may be specified');
  if (o.duration !== undefined && (!Number.isInteger(o.duration) || o.duration < 1 || o.duration > 86400)) throw new PerfError('test duration must be 1-86400 seconds');
  if (o.bytes !== undefined && (!Number.isSafeInteger(o.bytes) || o.bytes < 1)) throw new PerfError('byte count must be a positive integer');
  if (o.blocks !== undefined && (!Number.isSafeInteger(o.blocks) || o.blocks < 1)) throw new PerfError('block count must be a positive integer');
  if (o.interval !== undefined && (!(o.interval === 0 || (o.interval >= 0.1 && o.interval <= 60)) || Number.isNaN(o.interval))) throw new PerfError('interval must be 0 (none) or 0.1-60 seconds');
  if (o.omit !== undefined && (!Number.isInteger(o.omit) || o.omit < 0 || o.omit > 600)) throw new PerfError('omit must be 0-600 seconds');
  if (o.bidir && o.reverse) throw new PerfError('cannot be both reverse and bidirectional');
  const port = o.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PerfError('port must be 1-65535');
}

function timestampJson(now: Date): Record<string, unknown> {
  return { time: now.toUTCString(), timesecs: Math.floor(now.getTime() / 1000) };
}

async function connectWithTimeout(transport: PerfTransport, host: string, port: number, options: PerfConnectOptions, timeoutMs: number | undefined): Promise<PerfSocket> {
  const attempt = transport.connect(host, port, options);
  if (timeoutMs === undefined) return attempt;
  // A connection that completes after the timeout is closed.
  attempt.then(
    (s) => {
      if (timedOut) s.destroy();
    },
    () => undefined,
  );
  let timedOut = false;
  try {
    return await withTimeout(attempt, timeoutMs, `connection timed out after ${timeoutMs} ms`);
  } catch (err) {
    timedOut = true;
    throw err;
  }
}

/**
 * Runs one test as the client. Resolves with the result (both sides' numbers) once the server has shown its
 * results; rejects with PerfError (connection refused, server busy, protocol error, interrupted).
 */
export async function runPerfClient(options: PerfClientOptions, transport: PerfTransport = nodeNetTransport): Promise<PerfTestResult> {
  validateClientOptions(options);
  const io = options.io ?? silent;
  const clock = options.clock ?? (() => performance.now());
  const host = options.host;
  const port = options.port ?? DEFAULT_PORT;
  const parallel = options.parallel ?? 1;
  const blockSize = options.blockSize ?? DEFAULT_TCP_BLKSIZE;
  const reverse = options.reverse ?? false;
  const bidir = options.bidir ?? false;
  const omit = options.omit ?? 0;
  const interval = options.interval ?? 1;
  const bytesLimit = options.bytes ?? (options.blocks !== undefined ? options.blocks * blockSize : 0);
  const duration = options.bytes !== undefined || options.blocks !== undefined ? 0 : (options.duration ?? 10);
  const controlTimeout = options.controlTimeoutMs ?? 30_000;
  const json = options.json ?? false;
  const text = (s: string) => {
    if (!json) io.stdout(s);
  };
  const cookie = makeCookie();
  const connectOptions: PerfConnectOptions = {
    ...(options.bind !== undefined ? { localAddress: options.bind } : {}),
    ...(options.family !== undefined ? { family: options.family } : {}),
  };

  const jsonStart: Record<string, unknown> = {
    connected: [] as unknown[],
    version: options.version ?? 'mptcp perf',
    system_info: systemInfo(),
    timestamp: timestampJson(new Date()),
    connecting_to: { host, port },
    cookie: cookieText(cookie),
    transport: transport.name ?? 'custom',
    test_start: {
      protocol: 'TCP',
      num_streams: parallel,
      blksize: blockSize,
      omit,
      duration,
      bytes: options.bytes ?? 0,
      blocks: options.blocks ?? 0,
      reverse: reverse ? 1 : 0,
      tos: 0,
      ...(options.windowBytes !== undefined ? { sock_bufsize: options.windowBytes } : {}),
      ...(options.mss !== undefined ? { tcp_mss: options.mss } : {}),
    },
  };

  // Fatal conditions raised outside the control loop (abort, a data stream failing mid-test).
  const interrupt = new Signal<never>();
  const onAbort = () => interrupt.reject(new PerfError('interrupted'));
  if (options.signal?.aborted) throw new PerfError('interrupted');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  text(`Connecting to host ${host}, port ${port}\n`);
  let ctrlSocket: PerfSocket;
  try {
    ctrlSocket = await raceWith(connectWithTimeout(transport, host, port, connectOptions, options.connectTimeoutMs), interrupt);
  } catch (err) {
    options.signal?.removeEventListener('abort', onAbort);
    if (err instanceof PerfError && err.message === 'interrupted') throw err;
    throw new PerfError(`unable to connect to server ${host} port ${port}: ${(err as Error).message}`);
  }
  // Control messages are small and latency-bound (IPERF_DONE must not wait behind Nagle, or a test started
  // right after this one finds the server still busy): no Nagle on the control connection.
  ctrlSocket.setNoDelay?.(true);
  const ctrl = new ControlChannel(ctrlSocket);
  const streams: DataStream[] = [];
  let recorder: TestRecorder | undefined;
  let peerResults: IperfResults | undefined;
  let testEnd: Promise<void> | undefined;
  const timers: NodeJS.Timeout[] = [];
  let ticker: Ticker | undefined;
  const budget = new SendBudget(bytesLimit > 0 ? bytesLimit : Infinity);

  const stopTimers = () => {
    ticker?.stop();
    for (const t of timers) clearTimeout(t);
    timers.length = 0;
  };
  const cleanup = () => {
    stopTimers();
    options.signal?.removeEventListener('abort', onAbort);
    for (const s of streams) s.destroy();
    if (!ctrlSocket.destroyed) ctrlSocket.destroy();
  };

  /**
   * Ends the test: stop, flush, TEST_END. Idempotent. At the `-t` deadline, with senders that count what the
   * transport took, the test ends at that instant, as iperf3's does: the last interval and the totals stop
   * there, and what was not taken yet is dropped; the flush (the peer acknowledging what was taken) only
   * delays TEST_END, so that the receiver counts it too. Otherwise (a byte count reached, node:net senders)
   * the issued writes complete first and are counted.
   */
  const endTest = (atDeadline = false): Promise<void> => {
    if (testEnd) return testEnd;
    testEnd = (async () => {
      stopTimers();
      const now = atDeadline && streams.every((s) => !s.sender || s.countsAccepted);
      if (now) recorder?.finish();
      for (const s of streams) s.stopSending(now);
      await Promise.all(streams.map((s) => s.flushed(FLUSH_TIMEOUT_MS)));
      if (!now) recorder?.finish();
      await ctrl.writeState(IperfState.TEST_END);
    })();
    testEnd.catch((err: Error) => interrupt.reject(err instanceof PerfError ? err : new PerfError(err.message)));
    return testEnd;
  };

  let summarized = false;
  /** -R with -n/-k: the test ends once that much has arrived (possibly before TEST_START is even read). */
  const checkReceiveLimit = () => {
    if (reverse && bytesLimit > 0 && !testEnd && recorder?.isStarted && recorder.bytesSinceStart() >= bytesLimit) void endTest();
  };

  try {
    await writeAsync(ctrlSocket, cookie);
    for (;;) {
      const started = recorder?.isStarted ?? false;
      const state = await raceWith(started ? ctrl.readState() : withTimeout(ctrl.readState(), controlTimeout, 'timed out waiting for the server'), interrupt);
      switch (state) {
        case IperfState.PARAM_EXCHANGE:
          await ctrl.writeJson(
            encodeParams({
              protocol: 'tcp',
              omit,
              time: duration,
              num: options.bytes ?? 0,
              blockcount: options.blocks ?? 0,
              parallel,
              reverse,
              bidirectional: bidir,
              len: blockSize,
              nodelay: options.noDelay ?? false,
              mss: options.mss ?? 0,
              window: options.windowBytes ?? 0,
              bandwidth: options.bitrate ?? 0,
              getServerOutput: false,
              ...(options.title !== undefined ? { title: options.title } : {}),
              ...(options.congestion !== undefined ? { congestion: options.congestion } : {}),
            }),
          );
          break;

        case IperfState.CREATE_STREAMS: {
          if (reverse) text(`Reverse mode, remote host ${host} is sending\n`);
          // --bidir: the forward streams first, then the reverse ones (iperf_create_streams' order).
          for (let i = 0; i < (bidir ? 2 * parallel : parallel); i++) {
            const streamOptions: PerfConnectOptions = {
              ...connectOptions,
              ...(options.cport !== undefined ? { localPort: options.cport + i } : {}),
              ...(options.windowBytes !== undefined ? { windowBytes: options.windowBytes } : {}),
              ...(options.mss !== undefined ? { mss: options.mss } : {}),
            };
            let socket: PerfSocket;
            try {
              socket = await raceWith(connectWithTimeout(transport, host, port, streamOptions, options.connectTimeoutMs), interrupt);
            } catch (err) {
              if (err instanceof PerfError && err.message === 'interrupted') throw err;
              throw new PerfError(`unable to connect data stream ${i + 1} to ${host} port ${port}: ${(err as Error).message}`);
            }
            if (options.noDelay) socket.setNoDelay?.(true);
            const stream = new DataStream(iperfStreamId(i), bidir ? i < parallel : !reverse, socket, new Uint8Array(0), {
              onError: (st, err) => {
                if (!testEnd) interrupt.reject(new PerfError(`data stream ${st.id}: ${err.message}`));
              },
              onData: () => checkReceiveLimit(),
            });
            streams.push(stream);
            await writeAsync(socket, cookie);
            (jsonStart['connected'] as unknown[]).push(connectedJson(stream.id, socket));
            text(connectedLine(stream.id, socket));
            text(fallbackLine(stream.id, socket));
          }
          recorder = new TestRecorder({ role: 'client', reverse, bidir, cookie: cookieText(cookie), streams, io, json, interval, omitting: omit > 0, clock, jsonStart });
          break;
        }

        case IperfState.TEST_START: {
          if (!recorder) throw new PerfProtocolError('server started the test before the streams were created');
          const rec = recorder;
          rec.start();
          ticker = new Ticker(interval, clock, () => rec.tick());
          ticker.start();
          if (duration > 0) timers.push(setTimeout(() => void endTest(true), (duration + omit) * 1000));
          checkReceiveLimit();
          if (omit > 0) {
            timers.push(
              setTimeout(() => {
                rec.omitDone();
                ticker?.start();
                if (bytesLimit > 0 && !reverse) budget.refill(bytesLimit);
              }, omit * 1000),
            );
          }
          break;
        }

        case IperfState.TEST_RUNNING:
          if (!reverse && !testEnd) {
            for (const s of streams) s.startSending(Buffer.alloc(blockSize, 0x61), budget, options.bitrate ?? 0);
            if (bytesLimit > 0) {
              void (async () => {
                // With -n/-k, the test ends when every sender has used up the budget.
                while (!testEnd) {
                  await Promise.all(streams.map((s) => s.sendDone()));
                  if (testEnd) return;
                  if (budget.exhausted || streams.every((s) => s.ended)) break;
                  // the omit period refilled the budget: restart the senders
                  for (const s of streams) s.startSending(Buffer.alloc(blockSize, 0x61), budget, options.bitrate ?? 0);
                }
                if (!testEnd) void endTest();
              })();
            }
          }
          break;

        case IperfState.EXCHANGE_RESULTS: {
          if (!recorder) throw new PerfProtocolError('server asked for results before the test started');
          if (testEnd) await testEnd;
          else recorder.finish();
          await ctrl.writeJson(encodeResults(recorder.results()));
          peerResults = decodeResults(await raceWith(withTimeout(ctrl.readJson(), controlTimeout, 'timed out waiting for the server results'), interrupt));
          break;
        }

        case IperfState.DISPLAY_RESULTS: {
          if (!recorder) throw new PerfProtocolError('server displayed results before the test started');
          for (const s of streams) s.destroy();
          summarized = true;
          const result = recorder.summarize(peerResults);
          text('\nmptcp perf done.\n');
          await ctrl.writeState(IperfState.IPERF_DONE).catch(() => undefined);
          ctrlSocket.end();
          // The server frees itself on IPERF_DONE and then closes: waiting (briefly) for that close means a
          // test started right after this one does not find the server still busy.
          await serverClosed(ctrlSocket, 2000);
          cleanup();
          return result;
        }

        case IperfState.IPERF_DONE:
          break;

        case IperfState.SERVER_TERMINATE:
          throw new PerfError('the server has terminated');

        case IperfState.ACCESS_DENIED:
          throw new PerfError('the server is busy running a test. try again later');

        case IperfState.SERVER_ERROR: {
          const e = await withTimeout(ctrl.readServerError(), controlTimeout, 'timed out reading the server error');
          throw new PerfError(`the server reported an error: ${iperfErrorText(e.code, e.errno)}`);
        }

        default:
          throw new PerfProtocolError(`received an unknown control message (${state}) from the server`);
      }
    }
  } catch (caught) {
    const err = caught instanceof ControlClosedError ? new PerfError(`the control connection closed unexpectedly (${caught.message})`) : caught;
    const interrupted = err instanceof PerfError && err.message === 'interrupted';
    if (interrupted && !ctrlSocket.destroyed) {
      // Tell the server, like iperf3 on SIGINT.
      await withTimeout(ctrl.writeState(IperfState.CLIENT_TERMINATE), 1000, '').catch(() => undefined);
    }
    if (err instanceof PerfError && !summarized) {
      // Show what was measured so far (text), or a JSON document with the error, as iperf3 -J does.
      if (recorder?.isStarted) {
        recorder.finish();
        recorder.summarize(peerResults, { error: err.message });
      } else if (json) {
        io.stdout(`${JSON.stringify({ start: jsonStart, intervals: [], end: {}, error: err.message }, null, 2)}\n`);
      }
    }
    cleanup();
    throw err;
  }
}

/** Resolves when the peer closed `socket` (end of stream or close), or after `ms`. */
function serverClosed(socket: PerfSocket, ms: number): Promise<void> {
  const s = socket as PerfSocket & { readableEnded?: boolean; destroyed?: boolean; once(event: string, f: () => void): unknown; resume?(): unknown };
  if (s.readableEnded || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    s.once('end', done);
    s.once('close', done);
    s.resume?.();
  });
}
