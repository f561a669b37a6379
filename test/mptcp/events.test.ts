// `ip mptcp monitor` lines: the expected strings were printed by iproute2 6.1 on Linux 6.18 for kernel
// MPTCP connections over loopback in a private namespace (python IPPROTO_MPTCP client and server, endpoints
// `198.18.0.2 subflow`, `198.18.0.3 signal` / `2001:2::2 signal`, `endpoint change id 1 backup`, `delete id 1`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMonitorLine, type MptcpEvent } from '../../src/mptcp/events.js';
import { parseAddress } from '../../src/wire/address.js';

const ip = (s: string) => parseAddress(s)!;

const CASES: [MptcpEvent, string][] = [
  [
    { type: 'CREATED', token: 0xf8d46110, remoteId: 0, localId: 0, localAddress: ip('198.18.0.1'), remoteAddress: ip('198.18.0.1'), localPort: 48984, remotePort: 5201 },
    '[       CREATED] token=f8d46110 remid=0 locid=0 saddr4=198.18.0.1 daddr4=198.18.0.1 sport=48984 dport=5201',
  ],
  [
    { type: 'ESTABLISHED', token: 0x00228828, remoteId: 0, localId: 0, localAddress: ip('198.18.0.1'), remoteAddress: ip('198.18.0.1'), localPort: 5201, remotePort: 59604, flags: 2 },
    '[   ESTABLISHED] token=00228828 remid=0 locid=0 saddr4=198.18.0.1 daddr4=198.18.0.1 sport=5201 dport=59604 flags=2',
  ],
  [{ type: 'ANNOUNCED', token: 0x92a6b4eb, remoteId: 2, remoteAddress: ip('2001:2::2'), remotePort: 5201 }, '[     ANNOUNCED] token=92a6b4eb remid=2 daddr6=2001:2::2 dport=5201'],
  [
    { type: 'SF_ESTABLISHED', token: 0x640e09ae, remoteId: 1, localId: 0, localAddress: ip('198.18.0.1'), remoteAddress: ip('198.18.0.2'), localPort: 5201, remotePort: 38305, backup: true },
    '[SF_ESTABLISHED] token=640e09ae remid=1 locid=0 saddr4=198.18.0.1 daddr4=198.18.0.2 sport=5201 dport=38305 backup=1',
  ],
  [
    { type: 'SF_PRIO', token: 0x00228828, remoteId: 1, localId: 0, localAddress: ip('198.18.0.1'), remoteAddress: ip('198.18.0.2'), localPort: 5201, remotePort: 46873, backup: true },
    '[       SF_PRIO] token=00228828 remid=1 locid=0 saddr4=198.18.0.1 daddr4=198.18.0.2 sport=5201 dport=46873 backup=1',
  ],
  [{ type: 'REMOVED', token: 0x00228828, remoteId: 1 }, '[       REMOVED] token=00228828 remid=1'],
  [
    { type: 'SF_CLOSED', token: 0xb236755c, remoteId: 2, localId: 2, localAddress: ip('2001:2::2'), remoteAddress: ip('2001:2::2'), localPort: 56215, remotePort: 5201, backup: false, error: 111 },
    '[     SF_CLOSED] token=b236755c remid=2 locid=2 saddr6=2001:2::2 daddr6=2001:2::2 sport=56215 dport=5201 backup=0 error=111',
  ],
  [
    { type: 'CREATED', token: 0xb236755c, remoteId: 0, localId: 0, localAddress: ip('2001:2::1'), remoteAddress: ip('2001:2::1'), localPort: 56470, remotePort: 5201 },
    '[       CREATED] token=b236755c remid=0 locid=0 saddr6=2001:2::1 daddr6=2001:2::1 sport=56470 dport=5201',
  ],
  [{ type: 'CLOSED', token: 0x92a6b4eb }, '[        CLOSED] token=92a6b4eb'],
];

test('formatMonitorLine equals the kernel monitor output', () => {
  for (const [event, line] of CASES) assert.equal(formatMonitorLine(event), line);
});

test('formatMonitorLine: newer iproute2 width, listener events, reset reason', () => {
  assert.equal(formatMonitorLine({ type: 'CLOSED', token: 1 }, { nameWidth: 16 }), '[          CLOSED] token=00000001');
  assert.equal(
    formatMonitorLine({ type: 'LISTENER_CREATED', localAddress: ip('198.18.0.3'), localPort: 5300 }),
    '[LISTENER_CREATED] saddr4=198.18.0.3 sport=5300',
  );
  assert.equal(
    formatMonitorLine({ type: 'SF_CLOSED', token: 0xabc, remoteId: 1, localId: 0, error: 104, resetReason: 1, resetFlags: 1 }),
    '[     SF_CLOSED] token=00000abc remid=1 locid=0 error=104 reset_reason=1 reset_flags=0x1',
  );
});

test('a connection reports the monitor events Linux would, with their attributes (emulator, two subflows, MP_PRIO, RM_ADDR, close)', async () => {
  const { scenario, MB } = await import('../../src/harness/scenario.js');
  const s = scenario({
    seed: 51,
    up: 4 * MB,
    down: 1 * MB,
    paths: [{ config: { rateBitsPerSecond: 50e6, delayMicros: 5_000 } }, { config: { rateBitsPerSecond: 50e6, delayMicros: 5_000 } }],
    serverEndpoints: ['198.18.2.1 id 5 signal'],
    clientLimits: 'subflows 2 add_addr_accepted 1',
    serverLimits: 'subflows 2',
  });
  const lines = (app: typeof s.pair.client): string[] => {
    const out: string[] = [];
    app.drain();
    for (let e = app.monitor.shift(); e; e = app.monitor.shift()) out.push(formatMonitorLine(e));
    return out;
  };
  assert.ok(s.step(() => s.client.subflowInfo()[1]?.fullyEstablished === true && s.up.received > 1 * MB, 20_000_000), 'joined and moving');
  const joined = s.client.subflowInfo()[1]!;
  assert.equal(s.client.setBackup(joined.id, true), true);
  s.wake();
  assert.ok(s.step(() => s.serverHost.mptcpCounters.MPPrioRx === 1, 5_000_000));
  s.serverHost.removeMptcpEndpoint(5, s.net.now);
  s.wake();
  assert.equal(s.finish(120_000_000), undefined);
  const client = lines(s.pair.client);
  const server = lines(s.pair.server);
  console.log(`# client:\n# ${client.join('\n# ')}\n# server:\n# ${server.join('\n# ')}`);
  const types = (l: string[]) => l.map((x) => /\[\s*(\w+)\]/.exec(x)![1]);
  const token = (n: number) => n.toString(16).padStart(8, '0');
  // The peer's RST of the removed subflow and its RM_ADDR travel on different paths: either may come first.
  const c = types(client);
  assert.deepEqual(c.slice(0, 4), ['CREATED', 'ESTABLISHED', 'ANNOUNCED', 'SF_ESTABLISHED']);
  assert.deepEqual([...c.slice(4, 6)].sort(), ['REMOVED', 'SF_CLOSED']);
  assert.deepEqual(c.slice(6), ['CLOSED']);
  assert.deepEqual(types(server), ['CREATED', 'ESTABLISHED', 'SF_ESTABLISHED', 'SF_PRIO', 'SF_CLOSED', 'CLOSED']);
  assert.ok(client.every((l) => l.includes(`token=${token(s.client.localToken)}`)), 'the client reports its own token');
  assert.match(client[0]!, /^\[       CREATED\] token=\w{8} remid=0 locid=0 saddr4=198\.18\.1\.2 daddr4=198\.18\.1\.1 sport=\d+ dport=5201$/);
  assert.match(server[0]!, /^\[       CREATED\] token=\w{8} remid=0 locid=0 saddr4=198\.18\.1\.1 daddr4=198\.18\.1\.2 sport=5201 dport=\d+ flags=2$/);
  assert.match(client[2]!, /^\[     ANNOUNCED\] token=\w{8} remid=5 daddr4=198\.18\.2\.1$/);
  assert.match(client[3]!, /^\[SF_ESTABLISHED\] token=\w{8} remid=5 locid=\d+ saddr4=198\.18\.\d\.2 daddr4=198\.18\.2\.1 sport=\d+ dport=5201 backup=0$/);
  assert.match(server[3]!, /^\[       SF_PRIO\] token=\w{8} remid=\d+ locid=5 saddr4=198\.18\.2\.1 daddr4=198\.18\.\d\.2 sport=5201 dport=\d+ backup=1$/);
  assert.ok(client.some((l) => /^\[       REMOVED\] token=\w{8} remid=5$/.test(l)));
  assert.ok(client.some((l) => /^\[     SF_CLOSED\] token=\w{8} remid=5 locid=2 saddr4=198\.18\.2\.2 daddr4=198\.18\.2\.1 sport=\d+ dport=5201 backup=1 error=104 reset_reason=0 reset_flags=0x0$/.test(l)));
  assert.match(server[4]!, /^\[     SF_CLOSED\] token=\w{8} remid=2 locid=5 saddr4=198\.18\.2\.1 daddr4=198\.18\.2\.2 sport=5201 dport=\d+ backup=1$/);
  assert.equal(s.serverHost.mptcpCounters.RmSubflow, 1, 'the remover counts RmSubflow');
  assert.equal(s.clientHost.mptcpCounters.RmSubflow, 0, 'the peer does not (as Linux)');
  assert.ok(s.up.intact() && s.down.intact());
});
