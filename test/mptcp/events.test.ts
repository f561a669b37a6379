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
