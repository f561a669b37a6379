/**
 * `mptcp proxy client|server`: multipath for applications that were never written for it. The work is in
 * src/proxy/ (on a public `Stack`); this file parses the words, builds the stack on the interfaces with
 * perf's own parsing and set-up (`--iface`, `--endpoint`, `--limits`, `--scheduler`, `--no-mptcp`:
 * ./perf.ts, ./perf-options.ts, src/perf/interfaces.ts), prints the statistics on SIGUSR1 and at exit,
 * and the `ip mptcp monitor` events with `--monitor`. Observability as every command of our stack has it
 * (./capture-options.ts): `--pcap` / `--pcap-snaplen` (every packet of every interface, src/api/capture.ts),
 * `--qlog`; and `--metrics ADDR:PORT` (Prometheus text: src/report/prometheus.ts for the host, the proxy's
 * counters from src/proxy/stats.ts, served by src/io/metrics-server.ts). `--cc` is perf's.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { createStack, type Stack, type StackNetwork } from '../api/stack.js';
import { formatMonitorLine, type MptcpEvent } from '../mptcp/events.js';
import { openInterfaces, type InterfaceStack } from '../perf/interfaces.js';
import { PerfConfigError, PerfError } from '../perf/iperf3-protocol.js';
import { AllowList, AllowRuleError } from '../proxy/allow.js';
import { startProxyClient, type HostPort, type ProxyClient } from '../proxy/client.js';
import { RELAY_MEMORY_NOTE } from '../proxy/relay.js';
import { PROXY_DEFAULTS, startProxyServer, type ProxyServer } from '../proxy/server.js';
import type { SocksCredentials } from '../proxy/socks5.js';
import { CliError, parseCommandArgs, UsageError, type CliIo, type Command } from './command.js';
import { parseIfaceOptions } from './perf.js';
import { parseCongestionControl, parseMptcpOptions } from './perf-options.js';
import { CAPTURE_OPTIONS, captureOptions, openCapture, openQlog } from './capture-options.js';
import { captureRuntime } from '../api/capture.js';
import { sampleSubflows } from '../api/monitor.js';
import { startMetricsServer, type MetricsServer } from '../io/metrics-server.js';
import { PrometheusFamilies, prometheusText } from '../report/prometheus.js';
import { congestionControlNames, DEFAULT_CONGESTION_CONTROL } from '../cc/registry.js';

const USAGE = `Usage: mptcp proxy client --listen ADDR:PORT --server HOST:PORT --iface SPEC [--iface SPEC...] [options]
                          [--forward LOCAL_ADDR:LOCAL_PORT=DEST_HOST:DEST_PORT ...]
       mptcp proxy server --listen ADDR:PORT --iface SPEC [--iface SPEC...] --allow CIDR[:PORTS] ... [options]

Multipath TCP for unmodified applications. Both sides speak standard protocols, so each also works with
peers that are not ours.

client: accepts local applications over the host's own TCP on --listen (repeatable), speaking SOCKS 5
  (RFC 1928 CONNECT to IPv4, IPv6 and names; no authentication, or RFC 1929 username/password with --auth)
  or HTTP proxy requests (CONNECT, and absolute-URI requests for plain http://). Each connection becomes
  one MPTCP connection on this project's stack to --server (our proxy server, or any SOCKS 5 server, e.g. a
  kernel MPTCP one under mptcpize), which is asked for the destination with SOCKS 5. --forward maps a
  local port straight to a destination (no protocol on the application's side).
server: accepts MPTCP connections (and plain TCP, as a fallback) on this project's stack at --listen,
  speaking SOCKS 5, and connects to the destination with the host's own TCP, only inside --allow (required:
  there is no default that opens everything); others get reply 0x02 "connection not allowed by ruleset".

Options:
      --listen ADDR:PORT       client: a local SOCKS 5 / HTTP proxy listener (node:net), e.g. 127.0.0.1:1080
                               server: the address and port on our stack (0.0.0.0:PORT: every address)
      --server HOST:PORT       client: the SOCKS 5 server, reached through our stack ([V6]:PORT for IPv6)
      --forward L=D            client: LOCAL_ADDR:LOCAL_PORT=DEST_HOST:DEST_PORT (repeatable)
      --allow CIDR[:PORTS]     server: destinations allowed (repeatable): 127.0.0.0/8:80,443,
                               [2001:2::/48]:8000-8999, 198.18.0.0/15, 0.0.0.0/0 (everything, explicitly)
      --auth USER:PASS         require these credentials from the applications (client) or from
                               clients (server): SOCKS 5 RFC 1929; the client's HTTP side: Proxy-Authorization
      --server-auth USER:PASS  client: credentials to give the server
      --max-connections N      connections at once (default ${PROXY_DEFAULTS.maxConnections}); beyond it SOCKS reply 0x01,
                               HTTP 503, a forward is reset, and a line on stderr
      --idle-timeout SEC       close a relayed connection idle that long (default: never)
      --connect-timeout SEC    give up on a destination or the server after SEC (default ${PROXY_DEFAULTS.connectTimeoutMs / 1000})
      --monitor                print the MPTCP events on stdout in 'ip mptcp monitor' format
      --metrics ADDR:PORT      serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464):
                               the MPTCP MIB counters under the kernel's names (node_netstat_MPTcpExt_*),
                               per subflow bytes, RTT, cwnd, retransmits and congestion control, and the
                               proxy's connections open/opened/closed/failed/refused and bytes (also per
                               path over every connection)
      --pcap FILE              capture every packet of every interface of our stack to FILE as it goes
                               (pcap, LINKTYPE_RAW, wall-clock time; mptcp decode, mptcp report, tshark)
      --pcap-snaplen N         bytes kept of each packet: 'headers' (IP and TCP headers with every
                               option, no payload; the default) or 1-262144
      --qlog FILE              a qlog event log (JSON-SEQ: the MPTCP events with a path id per subflow,
                               and each subflow's RTT and cwnd every 100 ms)
  Our stack, exactly as in 'mptcp perf' (see 'mptcp perf --help', "Interfaces" and "MPTCP"):
      --iface SPEC             udp:ADDR[:PORT][,remote=ADDR:PORT][,addr=ADDR/PREFIX][,mtu=N]  (unprivileged)
                               tun:NAME,addr=ADDR/PREFIX,peer=ADDR/PREFIX[,netns=NS][,mtu=N]  (root)
      --endpoint "WORDS"       ip mptcp endpoint add words, e.g. "127.0.0.4 subflow"
      --limits "WORDS"         ip mptcp limits set words, e.g. "subflows 2 add_addr_accepted 2"
      --scheduler NAME         default, roundrobin, redundant
  -C, --congestion NAME, --cc NAME
                               congestion control of every subflow: ${congestionControlNames().join(', ')}
                               (default ${DEFAULT_CONGESTION_CONTROL})
      --no-mptcp               plain TCP on our stack

Statistics (connections open, closed, refused and why, failed; bytes; per connection and per subflow)
go to stdout on SIGUSR1 and at exit (SIGINT, SIGTERM). Relaying: half-close both ways, a reset becomes a
reset (MP_FASTCLOSE on our stack), back-pressure end to end. Memory per relayed connection: ${RELAY_MEMORY_NOTE}.

Examples (two UDP paths on loopback, unprivileged):
  mptcp proxy server --listen 0.0.0.0:1080 --iface udp:127.0.0.2:7001 --iface udp:127.0.0.3:7002 \\
      --allow 127.0.0.0/8
  mptcp proxy client --listen 127.0.0.1:1080 --server 127.0.0.2:1080 \\
      --iface udp:127.0.0.4,remote=127.0.0.2:7001 --iface udp:127.0.0.5,remote=127.0.0.3:7002 \\
      --endpoint "127.0.0.5 subflow"
  curl --socks5-hostname 127.0.0.1:1080 http://localhost:8000/      or: curl -x http://127.0.0.1:1080 ...

Exit status: 0 after SIGINT/SIGTERM, 1 set-up failed (interfaces, listening), 2 bad usage.
`;

/** The `proxy` subcommand. */
export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'SOCKS 5 / HTTP proxy and port forwarding over MPTCP: client (local apps) and server (to destinations)',
  usage: USAGE,
  run: (args, io) => runProxy(args, io),
};

const OPTIONS = {
  listen: { type: 'string', multiple: true },
  server: { type: 'string' },
  forward: { type: 'string', multiple: true },
  allow: { type: 'string', multiple: true },
  auth: { type: 'string' },
  'server-auth': { type: 'string' },
  'max-connections': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'connect-timeout': { type: 'string' },
  monitor: { type: 'boolean' },
  iface: { type: 'string', multiple: true },
  endpoint: { type: 'string', multiple: true },
  limits: { type: 'string' },
  scheduler: { type: 'string' },
  'no-mptcp': { type: 'boolean' },
  metrics: { type: 'string' },
  congestion: { type: 'string', short: 'C' },
  cc: { type: 'string' },
  ...CAPTURE_OPTIONS,
} as const;

/** "ADDR:PORT" / "[V6]:PORT" / "name:PORT" (names only where `names`). Throws UsageError. */
export function parseHostPort(text: string, option: string, names: boolean): HostPort {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  const host = m?.[1] ?? '';
  const bracketed = text.startsWith('[');
  if (!m || !(port >= 0 && port <= 65535) || (bracketed && isIP(host) !== 6) || (!names && isIP(host) === 0) || !/^[0-9A-Za-z.:_-]+$/.test(host)) {
    throw new UsageError(`bad ${option} '${text}': expected ${names ? 'HOST' : 'ADDR'}:PORT, with an IPv6 address in brackets ([::1]:1080)`);
  }
  return { host, port };
}

function credentials(text: string | undefined, option: string): SocksCredentials | undefined {
  if (text === undefined) return undefined;
  const colon = text.indexOf(':');
  const username = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (colon <= 0 || password === '' || Buffer.byteLength(username) > 255 || Buffer.byteLength(password) > 255) {
    throw new UsageError(`bad ${option}: expected USER:PASS, each 1-255 bytes`);
  }
  return { username, password };
}

function seconds(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || !(n > 0 && n <= 86400)) throw new UsageError(`${option} must be seconds, more than 0 and at most 86400, got '${text}'`);
  return Math.round(n * 1000);
}

/** A public Stack on the interfaces perf opened: the stack closes them when it closes. */
function stackOn(ifaces: InterfaceStack): Stack {
  const network: StackNetwork = {
    attachStack: () => ({ sockets: ifaces.runtime, realtime: ifaces.runtime, follow: () => undefined, shutdown: () => ifaces.close() }),
  };
  return createStack({ name: 'proxy', network });
}

/** Runs `mptcp proxy` (arguments after "proxy"); resolves with the exit code after SIGINT/SIGTERM. */
export async function runProxy(args: readonly string[], io: CliIo): Promise<number> {
  const [role, ...rest] = args;
  if (role !== 'client' && role !== 'server') throw new UsageError(role === undefined ? 'missing the role: mptcp proxy client ... or mptcp proxy server ...' : `unknown role '${role}' (client or server)`);
  const { values, positionals } = parseCommandArgs(rest, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const list = (k: keyof typeof OPTIONS): string[] => (values[k] as unknown as string[] | undefined) ?? [];
  const str = (k: keyof typeof OPTIONS): string | undefined => values[k] as string | undefined;
  const onlyFor = role === 'client' ? ['allow'] : ['server', 'forward', 'server-auth'];
  for (const k of onlyFor) if (values[k] !== undefined) throw new UsageError(`--${k} is a ${role === 'client' ? 'server' : 'client'} option`);
  const ifaces = parseIfaceOptions(list('iface'));
  if (ifaces.length === 0) throw new UsageError('--iface SPEC is required: our stack runs on UDP paths (udp:...) or TUN devices (tun:...)');
  const mptcp = parseMptcpOptions({ noMptcp: values['no-mptcp'] === true, endpoints: list('endpoint'), limits: str('limits'), scheduler: str('scheduler') });
  const congestionControl = parseCongestionControl(str('cc'), str('congestion'));
  const capture = captureOptions(str('pcap'), str('pcap-snaplen'));
  const metricsText = str('metrics');
  const metricsAt = metricsText === undefined ? undefined : parseHostPort(metricsText, '--metrics', false);
  const qlogPath = str('qlog');
  if (qlogPath === '') throw new UsageError('--qlog needs a file name');
  const maxText = str('max-connections');
  if (maxText !== undefined && (!/^\d+$/.test(maxText) || Number(maxText) < 1 || Number(maxText) > 1_000_000)) throw new UsageError(`--max-connections must be an integer 1-1000000, got '${maxText}'`);
  const limits = {
    ...(maxText !== undefined ? { maxConnections: Number(maxText) } : {}),
    ...(str('idle-timeout') !== undefined ? { idleTimeoutMs: seconds(str('idle-timeout'), '--idle-timeout')! } : {}),
    ...(str('connect-timeout') !== undefined ? { connectTimeoutMs: seconds(str('connect-timeout'), '--connect-timeout')! } : {}),
  };
  const auth = credentials(str('auth'), '--auth');
  const log = (line: string): void => io.stderr(`mptcp proxy ${role}: ${line}\n`);

  let start: (stack: Stack) => Promise<ProxyServer | ProxyClient>;
  let describe: string;
  if (role === 'server') {
    const listens = list('listen');
    if (listens.length !== 1) throw new UsageError('the server needs exactly one --listen ADDR:PORT (on our stack; 0.0.0.0:PORT for every address)');
    const at = parseHostPort(listens[0]!, '--listen', false);
    const allowTexts = list('allow');
    if (allowTexts.length === 0) throw new UsageError('the server needs --allow CIDR[:PORTS] (repeatable): it connects nowhere else, and there is no default (write 0.0.0.0/0 and ::/0 to allow everything)');
    let allow: AllowList;
    try {
      allow = new AllowList(allowTexts);
    } catch (err) {
      if (err instanceof AllowRuleError) throw new UsageError(err.message);
      throw err;
    }
    const wildcard = at.host === '0.0.0.0' || at.host === '::';
    describe = `SOCKS 5 server on our stack at ${listens[0]}, allowing ${allow.describe()}`;
    start = (stack) => startProxyServer({ stack, port: at.port, ...(wildcard ? {} : { host: at.host }), allow, ...(auth ? { credentials: auth } : {}), ...limits, log });
  } else {
    const listen = list('listen').map((t) => parseHostPort(t, '--listen', false));
    const forwards = list('forward').map((t) => {
      const eq = t.indexOf('=');
      if (eq < 0) throw new UsageError(`bad --forward '${t}': expected LOCAL_ADDR:LOCAL_PORT=DEST_HOST:DEST_PORT`);
      return { listen: parseHostPort(t.slice(0, eq), '--forward', false), destination: parseHostPort(t.slice(eq + 1), '--forward', true) };
    });
    if (listen.length === 0 && forwards.length === 0) throw new UsageError('the client needs --listen ADDR:PORT (a SOCKS 5 / HTTP proxy for local applications) or --forward');
    const serverText = str('server');
    if (serverText === undefined) throw new UsageError('the client needs --server HOST:PORT (the SOCKS 5 server, through our stack)');
    let server = parseHostPort(serverText, '--server', true);
    if (isIP(server.host) === 0) {
      try {
        server = { host: (await lookup(server.host)).address, port: server.port };
      } catch {
        throw new CliError(`cannot resolve --server ${server.host}`);
      }
    }
    const serverAuth = credentials(str('server-auth'), '--server-auth');
    describe = `client to ${serverText}: ${[...listen.map((l) => `SOCKS 5 / HTTP proxy on ${l.host}:${l.port}`), ...forwards.map((f) => `forward ${f.listen.host}:${f.listen.port} -> ${f.destination.host}:${f.destination.port}`)].join(', ')}`;
    start = (stack) =>
      startProxyClient({ stack, server, listen, forwards, ...(auth ? { credentials: auth } : {}), ...(serverAuth ? { serverCredentials: serverAuth } : {}), mptcp: mptcp.enabled, ...limits, log });
  }

  let interfaces: InterfaceStack;
  try {
    interfaces = await openInterfaces(ifaces, { defaultRoutes: role === 'client', mptcp, congestionControl });
  } catch (err) {
    if (err instanceof PerfConfigError) throw new UsageError(err.message);
    if (err instanceof PerfError) throw new CliError(err.message);
    throw err;
  }
  const stack = stackOn(interfaces);
  const started = Date.now();
  const observers: (() => void)[] = [];
  let proxy!: ProxyServer | ProxyClient;
  let metrics: MetricsServer | undefined;
  try {
    const captureFile = capture ? openCapture(capture) : undefined;
    if (captureFile) observers.push(captureRuntime(interfaces.runtime, captureFile), () => captureFile.close(), () => captureFile.error && log(captureFile.error));
    const qlogFile = openQlog(qlogPath, { title: `mptcp proxy ${role}`, vantagePoint: role });
    if (qlogFile) {
      const q = qlogFile.log;
      const at = (): number => (Date.now() - started) * 1000;
      observers.push(sampleSubflows(interfaces.runtime, 100, (token, sf) => q.metrics(at(), role, token, sf.id, { rttMicros: sf.tcp.srttMicros, cwndBytes: sf.tcp.cwndBytes })));
      observers.push(() => qlogFile.close(), () => qlogFile.error && log(qlogFile.error));
      stack.on('monitor', (e: MptcpEvent) => q.monitorEvent(at(), role, e));
    }
    if (values['monitor'] === true) stack.on('monitor', (e: MptcpEvent) => io.stdout(`${formatMonitorLine(e)}\n`));
    try {
      proxy = await start(stack);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new CliError(`cannot listen: ${e.code === 'EADDRINUSE' ? 'the address and port are in use' : e.message}`);
    }
    if (metricsAt) {
      const host = interfaces.runtime.host;
      const render = (): string => {
        const families = new PrometheusFamilies();
        proxy.stats.metrics(families, role);
        return prometheusText([{ name: `proxy-${role}`, host }], families);
      };
      try {
        metrics = await startMetricsServer(metricsAt.host, metricsAt.port, render);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        await proxy.close();
        throw new CliError(`cannot serve --metrics ${metricsText}: ${e.code === 'EADDRINUSE' ? 'the address and port are in use' : e.message}`);
      }
    }
  } catch (err) {
    await stack.close({ timeout: 0 });
    for (const stop of observers) stop();
    throw err;
  }
  const title = `mptcp proxy ${role}`;
  const report = (): void => io.stdout(proxy.stats.format(title));
  io.stdout(`${interfaces.descriptions.join('\n')}\n${title}: ${describe}\n`);
  if (role === 'client') io.stdout(`${title}: listening on ${(proxy as ProxyClient).addresses().map((a) => `${a.address}:${a.port}`).join(', ')}\n`);
  else io.stdout(`${title}: listening on port ${(proxy as ProxyServer).address()?.port}\n`);
  if (metrics) io.stdout(`${title}: metrics on http://${metrics.address.includes(':') ? `[${metrics.address}]` : metrics.address}:${metrics.port}/metrics\n`);
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.on('SIGUSR1', report);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await stopped;
  } finally {
    process.off('SIGUSR1', report);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    report();
    await metrics?.close();
    await proxy.close();
    await stack.close({ timeout: 1000 });
    for (const stop of observers) stop();
  }
  return 0;
}
