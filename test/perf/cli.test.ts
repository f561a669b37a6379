/** `mptcp perf` on the command line (in-process through runCli). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, type CliIo } from '../../src/cli/cli.js';
import { formatBytes } from '../../src/perf/units.js';
import { freePort } from './helpers.js';

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
    [['-c'], /^mptcp perf: Option '-c, --client <value>' argument missing$/],
    [['-c', 'h', '--bogus'], /^mptcp perf: Unknown option '--bogus'$/],
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

test('--iface is parsed, then refused with one clear line (exit 2) until the stack is wired', async () => {
  const r = await run(['-c', '127.0.0.1', '--iface', 'tun:mp0,addr=198.18.0.2/24,peer=198.18.0.1/24', '--iface', 'udp:[::1]:7001,remote=[::1]:7002']);
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.match(r.err, /^mptcp perf: --iface is not supported yet: .*without --iface, perf runs over the host's kernel TCP \(node:net\)\n$/);
});

test('help documents the options and the --iface specs', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  for (const s of ['-c, --client HOST', '-s, --server', '-1, --one-off', '-R, --reverse', '-P, --parallel N', '-n, --bytes N', '--json', 'tun:NAME,addr=ADDR/PREFIX,peer=ADDR/PREFIX[,netns=NS]', 'udp:ADDR[:PORT][,remote=ADDR:PORT]', 'Not yet supported']) {
    assert.ok(r.out.includes(s), s);
  }
  const main = io();
  assert.equal(await runCli(['--help'], main), 0);
  assert.match(main.out.join(''), /\n {2}perf +iperf3-compatible throughput test/);
});

test('connection refused: one line, exit 1', { timeout: 10_000 }, async () => {
  const port = await freePort();
  const r = await run(['-c', '127.0.0.1', '-p', String(port), '-n', '1K']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^mptcp perf: unable to connect to server 127\.0\.0\.1 port \d+: .*ECONNREFUSED.*\n$/);
});

test('mptcp perf -s -1 and mptcp perf -c --json end to end', { timeout: 30_000 }, async () => {
  let port = 0;
  let server: Promise<{ code: number; out: string; err: string }> | undefined;
  const serverIo = io();
  for (let attempt = 0; attempt < 5 && !server; attempt++) {
    port = await freePort();
    const p = runCli(['perf', '-s', '-1', '-B', '127.0.0.1', '-p', String(port)], serverIo).then((code) => ({ code, out: serverIo.out.join(''), err: serverIo.err.join('') }));
    for (let i = 0; i < 100 && serverIo.out.length === 0 && serverIo.err.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    if (serverIo.out.join('').includes('Server listening')) server = p;
    else serverIo.err.length = 0;
  }
  assert.ok(server, 'server started');
  const client = await run(['-c', '127.0.0.1', '-p', String(port), '-n', '2M', '-P', '2', '--json']);
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
