/** `mptcp perf` on the command line (in-process through runCli). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/command.js';
import { formatBytes } from '../../src/perf/units.js';
import { createSocket } from 'node:dgram';
import { freePort, freeUdpPort } from './helpers.js';

function io(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = io();
  const code = await runCli(['perf', ...args], o);
  return { code, out: o.out.join(''), err: o.err.join('') };
}

test('usage errors: one line naming the problem, exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^mptcp perf: missing -s \(server\) or -c HOST \(client\)$/],
    [['-s', '-c', 'h'], /^mptcp perf: choose one of -s \(server\) and -c HOST \(client\)$/],
    [['-c'], /^mptcp perf: option -c \(--client\) needs a value$/],
    [['-c', 'h', '--bogus'], /^mptcp perf: unknown option '--bogus'$/],
    // Our words, not Node's parser's ("argument is ambiguous", hints about '--').
    [['-c', '-t', '3'], /^mptcp perf: option -c \(--client\) needs a value, got the option '-t' \(to give a value that starts with '-', write --client=-t\)$/],
    [['-c', 'h', '-t'], /^mptcp perf: option -t \(--time\) needs a value$/],
    [['-c', 'h', '-Rx'], /^mptcp perf: unknown option '-x' \(in '-Rx'\)$/],
    [['-c', 'h', 'extra'], /^mptcp perf: unexpected argument 'extra'$/],
    [['-c', 'h', '-t', '0'], /^mptcp perf: --time must be an integer 1-86400, got '0'$/],
    [['-c', 'h', '-t', '1.5'], /^mptcp perf: --time must be an integer/],
    [['-c', 'h', '-n', '10Q'], /^mptcp perf: --bytes must be a number with an optional K\/M\/G\/T suffix, got '10Q'$/],
    [['-c', 'h', '-t', '1', '-n', '1M'], /^mptcp perf: only one test end condition \(-t, -n, -k\) may be given$/],
    [['-c', 'h', '-P', '200'], /^mptcp perf: --parallel must be an integer 1-128, got '200'$/],
    [['-c', 'h', '-l', '2M'], /^mptcp perf: --length must be 1-1048576 bytes, got '2M'$/],
    [['-c', 'h', '-i', '0.05'], /^mptcp perf: --interval must be 0 \(no interval reports\) or 0.1-60 seconds, got '0.05'$/],
    [['-c', 'h', '-p', '70000'], /^mptcp perf: --port must be an integer 1-65535, got '70000'$/],
    [['-c', 'h', '-4', '-6'], /^mptcp perf: choose one of -4 and -6$/],
    [['-c', 'h', '-1'], /^mptcp perf: --one-off is a server option$/],
    [['-s', '-R'], /^mptcp perf: --reverse is a client option$/],
    [['-s', '-t', '5'], /^mptcp perf: --time is a client option$/],
    [['-c', 'h', '--iface', 'tun:mp0,addr=10.0.0.1'], /^mptcp perf: bad --iface 'tun:mp0,addr=10.0.0.1': missing peer=ADDR\/PREFIX/],
    [['-s', '--iface', 'udp:nowhere'], /^mptcp perf: bad --iface 'udp:nowhere': local address 'nowhere' is not an IPv4 or IPv6 address/],
  ];
  for (const [args, re] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.out, '');
    const [first, second, third] = r.err.split('\n');
    assert.match(first!, re, args.join(' '));
    assert.equal(second, "Try 'mptcp perf --help' for more information.");
    assert.equal(third, '');
  }
});

test('usage errors of the stack options (--kernel, --iface, --link): one line, exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['-s'], /^mptcp perf: -s needs --iface SPEC .* or --kernel .*; without either, the client \(-c\) runs both ends on the emulator$/],
    [['-s', '-1'], /^mptcp perf: -s needs --iface SPEC/],
    [['-c', '127.0.0.1', '--kernel', '--iface', 'udp:127.0.0.1'], /^mptcp perf: choose one of --kernel \(the host kernel's TCP\) and --iface \(our stack on TUN\/UDP\)$/],
    [['-c', '127.0.0.1', '--kernel', '--link', 'rate=1M'], /^mptcp perf: --link configures the emulated link: it goes without --iface and --kernel$/],
    [['-c', '127.0.0.1', '--iface', 'udp:127.0.0.1', '--link', 'rate=1M'], /^mptcp perf: --link configures the emulated link/],
    [['-c', 'example.org'], /^mptcp perf: -c example\.org: on the emulator \(no --iface, no --kernel\) HOST is the emulated server's address and must be an IP address, e.g\. -c 198\.18\.0\.2$/],
    [['-c', '198.18.0.2', '-B', '2001:2::1'], /^mptcp perf: -B 2001:2::1: the client address must be an IPv4 address like HOST$/],
    [['-c', '198.18.0.2', '-B', '198.18.0.2'], /^mptcp perf: -B 198\.18\.0\.2: the client address must differ from HOST$/],
    [['-c', '198.18.0.2', '-6'], /^mptcp perf: -6 but HOST 198\.18\.0\.2 is an IPv4 address$/],
    [['-c', '198.18.0.2', '--link', 'rate=5'], /^mptcp perf: bad --link 'rate=5': rate=5: expected bits per second, at least 1K/],
    [['-c', '198.18.0.2', '--link', 'rate=fast'], /^mptcp perf: bad --link 'rate=fast': rate=fast: expected bits per second/],
    [['-c', '198.18.0.2', '--link', 'delay=1h'], /^mptcp perf: bad --link 'delay=1h': delay=1h: expected a one-way delay up to 10 s/],
    [['-c', '198.18.0.2', '--link', 'loss=100%'], /^mptcp perf: bad --link 'loss=100%': loss=100%: expected a loss rate below 100%/],
    [['-c', '198.18.0.2', '--link', 'queue=10'], /^mptcp perf: bad --link 'queue=10': queue=10: expected a backlog in bytes, at least 1500/],
    [['-c', '198.18.0.2', '--link', 'color=red'], /^mptcp perf: bad --link 'color=red': unknown key 'color' \(keys: rate, delay, jitter, loss, queue, reorder, duplicate, mtu, down, trace; KEY-up= \/ KEY-down= for one direction\)$/],
    [['-c', '198.18.0.2', '--link', ''], /^mptcp perf: bad --link '': empty: give KEY=VALUE fields/],
    [['-c', '198.18.0.2', '--link', 'loss=ge:1%'], /^mptcp perf: bad --link 'loss=ge:1%': loss=ge:1%: expected Gilbert-Elliott loss ge:P,R\[,BAD\[,GOOD\]\]/],
    [['-c', '198.18.0.2', '--link', 'down=3-1'], /^mptcp perf: bad --link 'down=3-1': down=3-1: expected FROM-TO in seconds/],
    [['-c', '198.18.0.2', '--link', 'rate=1M,rate=2M'], /^mptcp perf: bad --link 'rate=1M,rate=2M': 'rate' given twice$/],
    [['-c', '198.18.0.2', '--link', '100M'], /^mptcp perf: bad --link '100M': expected KEY=VALUE, got '100M'/],
    [['-c', '198.18.0.2', '--kernel=yes'], /^mptcp perf: option --kernel takes no value, got '--kernel=yes'$/],
    [['-s', '--iface', 'udp:0.0.0.0:6000'], /^mptcp perf: bad --iface 'udp:0\.0\.0\.0:6000': the wildcard address 0\.0\.0\.0 cannot be the stack's own address/],
    [['-s', '--iface', 'tun:mp0,addr=198.18.0.2/24,peer=198.18.0.1/24', '--iface', 'tun:mp0,addr=198.18.1.2/24,peer=198.18.1.1/24'], /^mptcp perf: --iface: TUN device name 'mp0' given twice$/],
  ];
  for (const [args, re] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.out, '');
    const [first, second, third] = r.err.split('\n');
    assert.match(first!, re, args.join(' '));
    assert.equal(second, "Try 'mptcp perf --help' for more information.");
    assert.equal(third, '');
  }
});

test('runtime errors of --iface: one line, exit 1, nothing left behind', async () => {
  const port = await freeUdpPort();
  const busy = await new Promise<import('node:dgram').Socket>((resolve) => {
    const s = createSocket('udp4');
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
  try {
    const r = await run(['-s', '--iface', `udp:127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `mptcp perf: udp:127.0.0.1:${port}: cannot bind UDP 127.0.0.1 port ${port}: the address and port are in use\n`);
  } finally {
    busy.close();
  }
  const r = await run(['-s', '--iface', 'tun:mpnons0,addr=198.18.0.2/24,peer=198.18.0.1/24,netns=mptcp-perf-no-such-ns']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^mptcp perf: tun:mpnons0,\S+: (network namespace 'mptcp-perf-no-such-ns' does not exist \(create it with: ip netns add mptcp-perf-no-such-ns\)|cannot create TUN devices: .*)\n$/);
});

test('help documents the options and the --iface specs', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  for (const s of ['-c, --client HOST', '-s, --server', '-1, --one-off', '-R, --reverse', '-P, --parallel N', '-n, --bytes N', '--json', 'tun:NAME,addr=ADDR/PREFIX,peer=ADDR/PREFIX[,netns=NS]', 'udp:ADDR[:PORT][,remote=ADDR:PORT][,addr=ADDR/PREFIX][,mtu=N]', '--kernel', '--link SPEC', 'rate=R', 'delay=D', 'loss=L', 'queue=Q', 'jitter=J', 'loss=L', 'ge:P,R[,BAD[,GOOD]]', 'reorder=P,E', 'down=A-B', 'trace=FILE', 'KEY-up=V, KEY-down=V', 'netns=NS', 'txqueuelen 10000', 'mptcp perf -s --iface udp:127.0.0.2:6000', 'mptcp perf -c 127.0.0.2 --iface udp:127.0.0.1,remote=127.0.0.2:6000', '-s needs --iface or --kernel']) {
    assert.ok(r.out.includes(s), s);
  }
  const main = io();
  assert.equal(await runCli(['--help'], main), 0);
  assert.match(main.out.join(''), /\n {2}perf +iperf3-compatible throughput test/);
});

test('connection refused: one line, exit 1', { timeout: 10_000 }, async () => {
  const port = await freePort();
  const r = await run(['-c', '127.0.0.1', '--kernel', '-p', String(port), '-n', '1K']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^mptcp perf: unable to connect to server 127\.0\.0\.1 port \d+: .*ECONNREFUSED.*\n$/);
});

test('mptcp perf -s -1 and mptcp perf -c --json end to end', { timeout: 30_000 }, async () => {
  let port = 0;
  let server: Promise<{ code: number; out: string; err: string }> | undefined;
  const serverIo = io();
  for (let attempt = 0; attempt < 5 && !server; attempt++) {
    port = await freePort();
    const p = runCli(['perf', '-s', '-1', '--kernel', '-B', '127.0.0.1', '-p', String(port)], serverIo).then((code) => ({ code, out: serverIo.out.join(''), err: serverIo.err.join('') }));
    for (let i = 0; i < 100 && serverIo.out.length === 0 && serverIo.err.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    if (serverIo.out.join('').includes('Server listening')) server = p;
    else serverIo.err.length = 0;
  }
  assert.ok(server, 'server started');
  const client = await run(['-c', '127.0.0.1', '--kernel', '-p', String(port), '-n', '2M', '-P', '2', '--json']);
  assert.equal(client.code, 0, client.err);
  const doc = JSON.parse(client.out) as { end: { sum_sent: { bytes: number }; sum_received: { bytes: number }; streams: unknown[] } };
  assert.equal(doc.end.sum_sent.bytes, 2 * 1024 * 1024);
  assert.equal(doc.end.streams.length, 2);
  const s = await server;
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /Server listening on \d+ \(test #1\)/);
  assert.match(s.out, /\[SUM\] .* receiver\n/);
  // the server's receiver total is the client's sum_received
  const m = /\[SUM\] +0\.00-\S+ +sec +(\S+ \S+) .* receiver\n/.exec(s.out);
  assert.equal(m?.[1], formatBytes(doc.end.sum_received.bytes).trim());
});

test('a UDP path whose remote has nothing listening: the connect fails with ECONNREFUSED (ICMP port unreachable), not after minutes of SYN retransmissions', { timeout: 60_000 }, async () => {
  const port = await freeUdpPort('127.0.0.2');
  const r = await Promise.race([
    run(['-c', '127.0.0.2', '-t', '1', '--iface', `udp:127.0.0.1,remote=127.0.0.2:${port}`]),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 30 s: the ICMP port unreachable was ignored')), 30_000).unref()),
  ]);
  assert.equal(r.code, 1);
  assert.match(r.err, /^mptcp perf: unable to connect to server 127\.0\.0\.2 port 5201: ECONNREFUSED: connection refused: port unreachable\n$/);
});
