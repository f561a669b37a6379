// `mptcp proxy` usage errors: one line, exit 2, before anything is opened (no --allow: no start).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/cli.js';
import { parseHostPort } from '../../src/cli/proxy.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  return { code, out, err };
}

test('usage errors name the problem and exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['proxy'], /missing the role/],
    [['proxy', 'relay'], /unknown role 'relay'/],
    [['proxy', 'server', '--listen', '0.0.0.0:1080', '--iface', 'udp:127.0.0.2:7001'], /needs --allow CIDR\[:PORTS\].*no default/],
    [['proxy', 'server', '--listen', '0.0.0.0:1080', '--iface', 'udp:127.0.0.2:7001', '--allow', '10.0.0.0/33'], /bad --allow '10\.0\.0\.0\/33'/],
    [['proxy', 'server', '--listen', '0.0.0.0:1080', '--allow', '127.0.0.0/8'], /--iface SPEC is required/],
    [['proxy', 'server', '--listen', 'localhost:1080', '--iface', 'udp:127.0.0.2:7001', '--allow', '127.0.0.0/8'], /bad --listen 'localhost:1080'/],
    [['proxy', 'server', '--listen', '0.0.0.0:1080', '--iface', 'udp:127.0.0.2:7001', '--allow', '127.0.0.0/8', '--server', '1.2.3.4:1'], /--server is a client option/],
    [['proxy', 'client', '--listen', '127.0.0.1:1080', '--iface', 'udp:127.0.0.4,remote=127.0.0.2:7001'], /needs --server HOST:PORT/],
    [['proxy', 'client', '--server', '127.0.0.2:1080', '--iface', 'udp:127.0.0.4,remote=127.0.0.2:7001'], /needs --listen ADDR:PORT .* or --forward/],
    [['proxy', 'client', '--server', '127.0.0.2:1080', '--forward', '127.0.0.1:9000', '--iface', 'udp:127.0.0.4,remote=127.0.0.2:7001'], /bad --forward/],
    [['proxy', 'client', '--listen', '127.0.0.1:1080', '--server', '127.0.0.2:1080', '--iface', 'udp:127.0.0.4,remote=127.0.0.2:7001', '--allow', '0.0.0.0/0'], /--allow is a server option/],
    [['proxy', 'client', '--listen', '127.0.0.1:1080', '--server', '127.0.0.2:1080', '--iface', 'udp:127.0.0.4,remote=127.0.0.2:7001', '--auth', 'nopassword'], /bad --auth: expected USER:PASS/],
    [['proxy', 'client', '--listen', '127.0.0.1:1080', '--server', '127.0.0.2:1080', '--iface', 'udp:127.0.0.4,remote=127.0.0.2:7001', '--max-connections', '0'], /--max-connections must be an integer/],
    [['proxy', 'client', '--listen', '127.0.0.1:1080', '--server', '127.0.0.2:1080', '--iface', 'udp:127.0.0.4,remote=127.0.0.2:7001', '--idle-timeout', 'x'], /--idle-timeout must be seconds/],
    [['proxy', 'client', '--listen', '127.0.0.1:1080', '--server', '127.0.0.2:1080', '--iface', 'bogus:x'], /iface/i],
    [['proxy', 'client', '--listen', '127.0.0.1:1080', '--server', '127.0.0.2:1080', '--iface', 'udp:127.0.0.4,remote=127.0.0.2:7001', '--scheduler', 'nope'], /unknown --scheduler 'nope'/],
    [['proxy', 'client', '--listen', '127.0.0.1:1080', '--server', '127.0.0.2:1080', '--iface', 'udp:127.0.0.4,remote=127.0.0.2:7001', '--cc', 'nope'], /unknown congestion control 'nope' \(available: .*lia/],
    [['proxy', 'server', '--listen', '0.0.0.0:1080', '--iface', 'udp:127.0.0.2:7001', '--allow', '127.0.0.0/8', '-C', 'reno', '--cc', 'lia'], /--cc 'lia' and -C\/--congestion 'reno' are the same option/],
    [['proxy', 'server', '--listen', '0.0.0.0:1080', '--iface', 'udp:127.0.0.2:7001', '--allow', '127.0.0.0/8', '--metrics', 'localhost:9464'], /bad --metrics 'localhost:9464'/],
    [['proxy', 'server', '--listen', '0.0.0.0:1080', '--iface', 'udp:127.0.0.2:7001', '--allow', '127.0.0.0/8', '--pcap', 'x.pcap', '--pcap-snaplen', '0'], /bad --pcap-snaplen '0'/],
    [['proxy', 'server', '--listen', '0.0.0.0:1080', '--iface', 'udp:127.0.0.2:7001', '--allow', '127.0.0.0/8', '--pcap-snaplen', '96'], /--pcap-snaplen goes with --pcap FILE/],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message, args.join(' '));
    assert.equal(r.err.split('\n').filter((l) => l !== '').length, 2, `one error line and the --help hint: ${r.err}`);
    assert.equal(r.out, '');
  }
  const help = await run(['proxy', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: mptcp proxy client/);
  assert.match((await run(['--help'])).out, /\n {2}proxy +SOCKS 5/);
});

test('HOST:PORT words', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:1080', 'x', false), { host: '127.0.0.1', port: 1080 });
  assert.deepEqual(parseHostPort('[::1]:80', 'x', false), { host: '::1', port: 80 });
  assert.deepEqual(parseHostPort('example.test:443', 'x', true), { host: 'example.test', port: 443 });
  for (const bad of ['::1:80', '[127.0.0.1]:80', '127.0.0.1', '127.0.0.1:70000', 'a b:1', '']) assert.throws(() => parseHostPort(bad, 'x', true), /bad x/, bad);
});

test('--metrics on an address and port in use: one line, exit 1, and the proxy does not start', async () => {
  const { createServer } = await import('node:net');
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as { port: number }).port;
  try {
    const r = await run(['proxy', 'server', '--listen', '0.0.0.0:1080', '--iface', 'udp:127.0.0.2', '--allow', '127.0.0.0/8', '--metrics', `127.0.0.1:${port}`]);
    assert.equal(r.code, 1, r.err);
    assert.equal(r.err, `mptcp proxy: cannot serve --metrics 127.0.0.1:${port}: the address and port are in use\n`);
    assert.equal(r.out, '', 'nothing started');
  } finally {
    taken.close();
  }
});
