// MIB counters: names from Linux 6.18's /proc/net/netstat MPTcpExt line; nstat text captured from
// `nstat -az` in a namespace after one kernel MPTCP connection that joined one subflow and exchanged
// ADD_ADDRs (iproute2 6.1, Linux 6.18).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNstat, isMptcpMibName, MPTCP_MIB_NAMES, MptcpMib, parseNstat, parseProcNetstat } from '../../src/mptcp/mib.js';

const KERNEL_HEADER =
  'MPTcpExt: MPCapableSYNRX MPCapableSYNTX MPCapableSYNACKRX MPCapableACKRX MPCapableFallbackACK MPCapableFallbackSYNACK MPCapableSYNTXDrop MPCapableSYNTXDisabled MPCapableEndpAttempt MPFallbackTokenInit MPTCPRetrans MPJoinNoTokenFound MPJoinSynRx MPJoinSynBackupRx MPJoinSynAckRx MPJoinSynAckBackupRx MPJoinSynAckHMacFailure MPJoinAckRx MPJoinAckHMacFailure MPJoinRejected MPJoinSynTx MPJoinSynTxCreatSkErr MPJoinSynTxBindErr MPJoinSynTxConnectErr DSSNotMatching DSSCorruptionFallback DSSCorruptionReset InfiniteMapTx InfiniteMapRx DSSNoMatchTCP DataCsumErr OFOQueueTail OFOQueue OFOMerge NoDSSInWindow DuplicateData AddAddr AddAddrTx AddAddrTxDrop EchoAdd EchoAddTx EchoAddTxDrop PortAdd AddAddrDrop MPJoinPortSynRx MPJoinPortSynAckRx MPJoinPortAckRx MismatchPortSynRx MismatchPortAckRx RmAddr RmAddrDrop RmAddrTx RmAddrTxDrop RmSubflow MPPrioTx MPPrioRx MPFailTx MPFailRx MPFastcloseTx MPFastcloseRx MPRstTx MPRstRx SubflowStale SubflowRecover SndWndShared RcvWndShared RcvWndConflictUpdate RcvWndConflict MPCurrEstab Blackhole MPCapableDataFallback MD5SigFallback DssFallback SimultConnectFallback FallbackFailed WinProbe';

const NSTAT_SAMPLE = `#kernel
IpExtInOctets                   123                0.0
MPTcpExtMPCapableSYNRX          1                  0.0
MPTcpExtMPCapableSYNTX          1                  0.0
MPTcpExtMPCapableSYNACKRX       1                  0.0
MPTcpExtMPCapableACKRX          1                  0.0
MPTcpExtMPCapableFallbackACK    0                  0.0
MPTcpExtMPJoinSynRx             1                  0.0
MPTcpExtMPJoinSynBackupRx       1                  0.0
MPTcpExtMPJoinSynAckRx          1                  0.0
MPTcpExtMPJoinAckRx             1                  0.0
MPTcpExtMPJoinSynTx             2                  0.0
MPTcpExtMPJoinSynTxCreatSkErr   2                  0.0
MPTcpExtAddAddr                 2                  0.0
MPTcpExtAddAddrTx               2                  0.0
MPTcpExtEchoAdd                 2                  0.0
MPTcpExtEchoAddTx               2                  0.0
MPTcpExtRcvWndShared            4                  0.0
`;

test('the names are the kernel 6.18 MPTcpExt list, in order', () => {
  assert.deepEqual([...MPTCP_MIB_NAMES], KERNEL_HEADER.split(' ').slice(1));
  assert.ok(isMptcpMibName('MPJoinAckRx'));
  assert.ok(!isMptcpMibName('MPJoinAckRX'));
});

test('formatNstat prints the kernel nstat lines byte for byte', () => {
  const mib = new MptcpMib();
  for (const [name, value] of parseNstat(NSTAT_SAMPLE)) if (isMptcpMibName(name)) mib.increment(name, value);
  const expected = NSTAT_SAMPLE.split('\n').filter((l) => l.startsWith('MPTcpExt') && !/\s0\s/.test(l));
  assert.deepEqual(mib.formatNstat({ zeros: false }).trimEnd().split('\n'), expected);
  const all = mib.formatNstat().trimEnd().split('\n');
  assert.equal(all.length, MPTCP_MIB_NAMES.length);
  assert.equal(all[4], 'MPTcpExtMPCapableFallbackACK    0                  0.0');
});

test('parseNstat reads a captured sample; MptcpMib counts', () => {
  const kernel = parseNstat(NSTAT_SAMPLE);
  assert.equal(kernel.get('MPJoinSynRx'), 1);
  assert.equal(kernel.get('EchoAdd'), 2);
  assert.equal(kernel.has('InOctets'), false);
  assert.equal(parseNstat('garbage\n\nMPTcpExtX notanumber').size, 0);
  const mib = new MptcpMib();
  mib.increment('MPCapableSYNTX');
  mib.increment('MPCurrEstab');
  mib.decrement('MPCurrEstab');
  assert.equal(mib.get('MPCapableSYNTX'), 1);
  assert.equal(mib.snapshot().MPCurrEstab, 0);
  assert.equal(formatNstat({ AddAddr: 3 }, { zeros: false }), 'MPTcpExtAddAddr                 3                  0.0\n');
  const proc = parseProcNetstat(`${KERNEL_HEADER}\nMPTcpExt: ${MPTCP_MIB_NAMES.map((_, i) => i).join(' ')}\n`);
  assert.equal(proc.get('MPJoinSynRx'), 12);
});

test('every counter the stack keeps has its kernel MIB name (DataFinTx/Rx are the only additions)', async () => {
  const { createMptcpCounters } = await import('../../src/mptcp/mib.js');
  const extra = Object.keys(createMptcpCounters()).filter((k) => !isMptcpMibName(k));
  assert.deepEqual(extra.sort(), ['DataFinRx', 'DataFinTx']);
});
