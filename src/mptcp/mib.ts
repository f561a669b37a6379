/**
 * MPTCP counters with the Linux kernel's MIB names: the one list of names, the counter object every
 * connection and host increments, and `nstat -az` text printed and parsed.
 *
 * Read first: Linux `net/mptcp/mib.c` (`mptcp_snmp_list`) and `mib.h` (what each counts). The list below
 * is the `MPTcpExt` line of /proc/net/netstat of Linux 6.18, in the kernel's order; nstat prefixes each
 * name with `MPTcpExt`.
 */

/** Every MPTcpExt counter name, in the kernel's order (Linux 6.18). */
export const MPTCP_MIB_NAMES = [
  'MPCapableSYNRX', 'MPCapableSYNTX', 'MPCapableSYNACKRX', 'MPCapableACKRX', 'MPCapableFallbackACK',
  'MPCapableFallbackSYNACK', 'MPCapableSYNTXDrop', 'MPCapableSYNTXDisabled', 'MPCapableEndpAttempt',
  'MPFallbackTokenInit', 'MPTCPRetrans', 'MPJoinNoTokenFound', 'MPJoinSynRx', 'MPJoinSynBackupRx',
  'MPJoinSynAckRx', 'MPJoinSynAckBackupRx', 'MPJoinSynAckHMacFailure', 'MPJoinAckRx', 'MPJoinAckHMacFailure',
  'MPJoinRejected', 'MPJoinSynTx', 'MPJoinSynTxCreatSkErr', 'MPJoinSynTxBindErr', 'MPJoinSynTxConnectErr',
  'DSSNotMatching', 'DSSCorruptionFallback', 'DSSCorruptionReset', 'InfiniteMapTx', 'InfiniteMapRx',
  'DSSNoMatchTCP', 'DataCsumErr', 'OFOQueueTail', 'OFOQueue', 'OFOMerge', 'NoDSSInWindow', 'DuplicateData',
  'AddAddr', 'AddAddrTx', 'AddAddrTxDrop', 'EchoAdd', 'EchoAddTx', 'EchoAddTxDrop', 'PortAdd', 'AddAddrDrop',
  'MPJoinPortSynRx', 'MPJoinPortSynAckRx', 'MPJoinPortAckRx', 'MismatchPortSynRx', 'MismatchPortAckRx',
  'RmAddr', 'RmAddrDrop', 'RmAddrTx', 'RmAddrTxDrop', 'RmSubflow', 'MPPrioTx', 'MPPrioRx', 'MPFailTx',
  'MPFailRx', 'MPFastcloseTx', 'MPFastcloseRx', 'MPRstTx', 'MPRstRx', 'SubflowStale', 'SubflowRecover',
  'SndWndShared', 'RcvWndShared', 'RcvWndConflictUpdate', 'RcvWndConflict', 'MPCurrEstab', 'Blackhole',
  'MPCapableDataFallback', 'MD5SigFallback', 'DssFallback', 'SimultConnectFallback', 'FallbackFailed', 'WinProbe',
] as const;

/** One MPTcpExt counter name (without the `MPTcpExt` prefix). */
export type MptcpMibName = (typeof MPTCP_MIB_NAMES)[number];

/**
 * The counters this stack moves, each a kernel MIB name (the compiler checks it against
 * {@link MPTCP_MIB_NAMES}) except `DataFinTx` / `DataFinRx`, two additions the kernel has no name for (useful
 * in tests). A counter object has exactly these keys, in this order: reports serialise the object as it is
 * (`JSON.stringify`, the demo's non-zero list), so the order is the order they were added to the stack, not
 * the kernel's, and a name the stack never moves is absent rather than a zero that reads as "counted". To
 * count another kernel counter, add its name here.
 *
 * What each counts (Linux `mib.h`): MPCapable* the MP_CAPABLE handshake (SYN sent / received, SYN/ACK and
 * third ACK received, fallbacks for a missing option); DSSNotMatching a mapping conflicting with the one in
 * use; DSSNoMatchTCP a mapping not covering its segment; DssFallback data without a mapping (fallback, RFC
 * 8684 3.7); DataCsumErr a DSS checksum that failed; DuplicateData data already received at the data level;
 * MPJoin* the MP_JOIN handshake (SYNs sent / received, SYN/ACKs received, third ACKs verified, HMAC failures,
 * unknown tokens, refused by the `subflows` limit); MPRstTx/Rx RSTs with MP_TCPRST; MPTCPRetrans data-level
 * bytes reinjected (the kernel counts segments); AddAddr / EchoAdd received, AddAddrTx / EchoAddTx sent,
 * AddAddrDrop a bad HMAC; MPFastclose*, MPPrio*, MPFail* the options of those names; RmAddr address ids
 * received, RmAddrTx options sent, RmSubflow subflows closed for our own removed address; SubflowStale /
 * SubflowRecover the stale mark set and cleared; DSSCorruptionFallback / DSSCorruptionReset a checksum
 * failure handled by fallback / by a reset; InfiniteMapTx/Rx infinite mappings.
 */
export const MPTCP_COUNTERS = [
  'MPCapableSYNRX', 'MPCapableSYNTX', 'MPCapableSYNACKRX', 'MPCapableACKRX', 'MPCapableFallbackACK',
  'MPCapableFallbackSYNACK', 'DSSNotMatching', 'DSSNoMatchTCP', 'DssFallback', 'DataCsumErr', 'DuplicateData',
  'DataFinTx', 'DataFinRx', 'MPJoinSynTx', 'MPJoinSynRx', 'MPJoinSynBackupRx', 'MPJoinSynAckRx',
  'MPJoinSynAckBackupRx', 'MPJoinSynAckHMacFailure', 'MPJoinAckRx', 'MPJoinAckHMacFailure', 'MPJoinNoTokenFound',
  'MPRstTx', 'MPRstRx', 'MPTCPRetrans', 'SubflowStale', 'SubflowRecover', 'MPFailTx', 'DSSCorruptionFallback',
  'DSSCorruptionReset', 'MPFailRx', 'InfiniteMapTx', 'InfiniteMapRx', 'AddAddr', 'EchoAdd', 'AddAddrTx',
  'EchoAddTx', 'AddAddrDrop', 'MPFastcloseTx', 'MPFastcloseRx', 'MPPrioTx', 'MPPrioRx', 'MPJoinRejected', 'RmAddr',
  'RmAddrTx', 'RmSubflow',
] as const satisfies readonly (MptcpMibName | 'DataFinTx' | 'DataFinRx')[];

/** One counter of {@link MPTCP_COUNTERS}. */
export type MptcpCounterName = (typeof MPTCP_COUNTERS)[number];

/** The counters of one connection or one host (shared by its connections): kernel names, plain numbers. */
export type MptcpCounters = Record<MptcpCounterName, number>;

/** A fresh counter object, all zero, with the keys in {@link MPTCP_COUNTERS} order. */
export function createMptcpCounters(): MptcpCounters {
  const counters = {} as MptcpCounters;
  for (const name of MPTCP_COUNTERS) counters[name] = 0;
  return counters;
}

/** The prefix nstat and /proc/net/netstat put before each name. */
export const MPTCP_MIB_PREFIX = 'MPTcpExt';

const NAME_SET: ReadonlySet<string> = new Set(MPTCP_MIB_NAMES);

/** True if `name` is one of {@link MPTCP_MIB_NAMES}. */
export function isMptcpMibName(name: string): name is MptcpMibName {
  return NAME_SET.has(name);
}

/**
 * A set of counters (per stack, like the kernel's per-namespace MIB). `MPCurrEstab` is a gauge in the
 * kernel (decremented on close), hence {@link decrement}.
 */
export class MptcpMib {
  private readonly values = new Map<MptcpMibName, number>();

  increment(name: MptcpMibName, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  /** For the one gauge, `MPCurrEstab`. */
  decrement(name: MptcpMibName, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) - by);
  }

  get(name: MptcpMibName): number {
    return this.values.get(name) ?? 0;
  }

  /** Every counter, zeros included, in the kernel's order. */
  snapshot(): Record<MptcpMibName, number> {
    const out = {} as Record<MptcpMibName, number>;
    for (const name of MPTCP_MIB_NAMES) out[name] = this.get(name);
    return out;
  }

  reset(): void {
    this.values.clear();
  }

  /** Prints like `nstat -az` (all counters, zeros too): see {@link formatNstat}. */
  formatNstat(options?: { zeros?: boolean }): string {
    return formatNstat(this.snapshot(), options);
  }
}

/**
 * nstat's line: `printf("%-32s%-16llu%6.1f\n", name, value, rate)` (rate 0.0: we have no history), e.g.
 * `MPTcpExtMPCapableSYNRX          1                  0.0`. Without `zeros` (nstat without `-z`) zero
 * counters are left out.
 */
export function formatNstat(counters: Partial<Record<MptcpMibName, number>>, options?: { zeros?: boolean }): string {
  const zeros = options?.zeros ?? true;
  let out = '';
  for (const name of MPTCP_MIB_NAMES) {
    const value = counters[name] ?? 0;
    if (value === 0 && !zeros) continue;
    out += `${`${MPTCP_MIB_PREFIX}${name}`.padEnd(32)}${String(value).padEnd(16)}${'0.0'.padStart(6)}\n`;
  }
  return out;
}

/**
 * Reads the MPTcpExt lines of `nstat -az` / `nstat -a` output (other lines ignored). Names this table
 * does not know (a newer kernel) are kept under their own name. Never throws.
 */
export function parseNstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^MPTcpExt(\S+)\s+(\d+)(?:\s+\S+)?\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]!));
  }
  return out;
}

/** The MPTcpExt header and value lines of /proc/net/netstat, as a map. Never throws. */
export function parseProcNetstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n').filter((l) => l.startsWith(`${MPTCP_MIB_PREFIX}:`));
  if (lines.length < 2) return out;
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1);
  names.forEach((name, i) => {
    const v = Number(values[i]);
    if (name && Number.isFinite(v)) out.set(name, v);
  });
  return out;
}
