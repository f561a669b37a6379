/**
 * `ip mptcp monitor` events against Linux's own: the kernel (a server signalling its second address) and our
 * client (which joins it) report the same connection from the two ends. The kernel's events are read from
 * `ip mptcp monitor` in its namespace; ours from the runtime's `monitor` (the host's monitor events) through `formatMonitorLine`.
 * Each of our events must mirror the kernel's: the same event types, our token = the kernel's remote token,
 * and local/remote ids, addresses and ports swapped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { KERNEL_PEER, closed, exchange, jsonLines, kernelSkipReason, stateOf, tunPaths, within } from '../support/kernel.js';
import { formatMonitorLine } from '../../src/mptcp/events.js';
import type { MptcpConnection } from '../../src/mptcp/connection.js';
import type { TcpSocket } from '../../src/api/socket.js';

const skip = kernelSkipReason();

/** `[  TYPE] k=v k=v` -> { type, k: v }. */
function parse(line: string): Record<string, string> {
  const m = /^\[\s*(\w+)\]\s*(.*)$/.exec(line.trim());
  if (!m) return {};
  const out: Record<string, string> = { type: m[1]! };
  for (const kv of m[2]!.split(/\s+/)) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

test('monitor events mirror the kernel\'s: CREATED, ESTABLISHED, ANNOUNCED, SF_ESTABLISHED, CLOSED of one connection seen from both ends', { skip, timeout: 120_000 }, async () => {
  const paths = tunPaths([
    { ours: ['198.18.1.2/24'], kernel: ['198.18.1.1/24'] },
    { ours: ['198.18.2.2/24'], kernel: ['198.18.2.1/24'] },
  ]);
  try {
    paths.namespace.ip('mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2');
    paths.namespace.ip('mptcp', 'endpoint', 'add', '198.18.2.1', 'dev', paths.tuns[1]!.name, 'id', '2', 'signal');
    paths.runtime.host.setMptcpLimits('subflows 2 add_addr_accepted 1');
    const monitor = paths.namespace.spawn('ip', ['mptcp', 'monitor']);
    const kernelLines: string[] = [];
    createInterface({ input: monitor.stdout! }).on('line', (l) => kernelLines.push(l));
    await new Promise((r) => setTimeout(r, 300)); // the monitor subscribes
    const peer = paths.namespace.spawn('python3', [KERNEL_PEER, 'server', '0.0.0.0', '5201', '2000000', '--mptcp', '--keep-listening']);
    const out = jsonLines(peer);
    assert.deepEqual(await out.next(10_000), { listening: 5201 });
    const socket = paths.runtime.connect(5201, '198.18.1.1', { mptcp: true, localAddress: '198.18.1.2' }) as TcpSocket;
    await within(10_000, 'connect', once(socket, 'connect'));
    const connection = socket.connection as MptcpConnection;
    const ours = await within(60_000, '2 MB each way', exchange(socket, 2_000_000, 7), stateOf(paths));
    const kernel = await out.next(30_000);
    assert.equal(kernel['receivedSha256'], ours.sentSha256);
    await within(10_000, 'close', closed(socket), stateOf(paths));
    await new Promise((r) => setTimeout(r, 500)); // the kernel's CLOSED
    monitor.kill();
    const ourLines: string[] = [];
    for (let e = paths.runtime.monitor.shift(); e; e = paths.runtime.monitor.shift()) ourLines.push(formatMonitorLine(e));
    console.log(`# kernel:\n# ${kernelLines.join('\n# ')}\n# ours:\n# ${ourLines.join('\n# ')}`);
    const k = kernelLines.map(parse).filter((e) => e['type']);
    const o = ourLines.map(parse);
    const ourToken = connection.localToken.toString(16).padStart(8, '0');
    const kernelToken = connection.mptcpInfo().remoteToken!.toString(16).padStart(8, '0');
    const ofType = (list: Record<string, string>[], type: string, token: string) => list.filter((e) => e['type'] === type && e['token'] === token);
    for (const type of ['CREATED', 'ESTABLISHED']) {
      const [mine] = ofType(o, type, ourToken);
      const [theirs] = ofType(k, type, kernelToken);
      assert.ok(mine && theirs, `${type} on both ends`);
      assert.equal(mine['saddr4'], theirs['daddr4']);
      assert.equal(mine['daddr4'], theirs['saddr4']);
      assert.equal(mine['sport'], theirs['dport']);
      assert.equal(mine['dport'], theirs['sport']);
      assert.equal(theirs['flags'], '2', 'the kernel is the server side');
      assert.equal(mine['flags'], undefined, 'we are the client side (no flags, as the kernel prints for a client)');
    }
    const [announced] = ofType(o, 'ANNOUNCED', ourToken);
    assert.ok(announced, 'we report the kernel\'s ADD_ADDR');
    assert.equal(announced['remid'], '2');
    assert.equal(announced['daddr4'], '198.18.2.1');
    const [mySf] = ofType(o, 'SF_ESTABLISHED', ourToken);
    const [theirSf] = ofType(k, 'SF_ESTABLISHED', kernelToken);
    assert.ok(mySf && theirSf, 'SF_ESTABLISHED on both ends');
    assert.equal(mySf['remid'], theirSf['locid'], 'our remote id is the kernel\'s local id');
    assert.equal(mySf['locid'], theirSf['remid'], 'and the reverse');
    assert.equal(mySf['saddr4'], theirSf['daddr4']);
    assert.equal(mySf['daddr4'], theirSf['saddr4']);
    assert.equal(mySf['sport'], theirSf['dport']);
    assert.equal(mySf['dport'], theirSf['sport']);
    assert.equal(mySf['backup'], theirSf['backup']);
    assert.equal(ofType(o, 'CLOSED', ourToken).length, 1, 'we report CLOSED once');
    assert.equal(ofType(k, 'CLOSED', kernelToken).length, 1, 'as the kernel does');
  } finally {
    paths.dispose();
  }
});
