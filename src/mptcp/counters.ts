/**
 * MPTCP counters with the names of Linux's MPTcpExt MIB (net/mptcp/mib.c, `nstat -az | grep MPTcpExt`), and
 * connection-level events with the names of `ip mptcp monitor` (include/uapi/linux/mptcp.h
 * `MPTCP_EVENT_*`). One counter object may be shared by every connection of a host.
 */

/** The MPTcpExt counters this stack implements so far (kernel names). */
export interface MptcpCounters {
  /** Received a SYN with MP_CAPABLE (server). */
  MPCapableSYNRX: number;
  /** Sent a SYN with MP_CAPABLE (client). */
  MPCapableSYNTX: number;
  /** Received a SYN/ACK with MP_CAPABLE (client). */
  MPCapableSYNACKRX: number;
  /** Received the third ACK (or first data) with MP_CAPABLE (server). */
  MPCapableACKRX: number;
  /** Server: the third ACK had no MP_CAPABLE, the connection fell back to TCP. */
  MPCapableFallbackACK: number;
  /** Client: the SYN/ACK had no MP_CAPABLE (or another version), the connection fell back to TCP. */
  MPCapableFallbackSYNACK: number;
  /** A mapping conflicting with the one in use for the same subflow bytes. */
  DSSNotMatching: number;
  /** A mapping that does not cover the segment it came with. */
  DSSNoMatchTCP: number;
  /** Data without a mapping on an MPTCP subflow: fell back to TCP (RFC 8684 3.7). */
  DssFallback: number;
  /** A DSS checksum that did not verify. */
  DataCsumErr: number;
  /** Duplicate data at the connection level (already received on this or another subflow). */
  DuplicateData: number;
  /** DATA_FIN sent / received (not kernel MIB names; useful in tests). */
  DataFinTx: number;
  DataFinRx: number;
  /** MP_JOIN (kernel names): SYNs sent / received, SYN/ACKs received, third ACKs verified, HMAC failures. */
  MPJoinSynTx: number;
  MPJoinSynRx: number;
  MPJoinSynBackupRx: number;
  MPJoinSynAckRx: number;
  MPJoinSynAckBackupRx: number;
  MPJoinSynAckHMacFailure: number;
  MPJoinAckRx: number;
  MPJoinAckHMacFailure: number;
  /** An MP_JOIN SYN whose token matches no connection. */
  MPJoinNoTokenFound: number;
  /** RSTs with MP_TCPRST sent / received. */
  MPRstTx: number;
  MPRstRx: number;
  /** Data-level bytes reinjected on another subflow (the kernel counts segments). */
  MPTCPRetrans: number;
  /** ADD_ADDR (echo flag clear, HMAC valid) received / echoes received / ADD_ADDRs sent / echoes sent. */
  AddAddr: number;
  EchoAdd: number;
  AddAddrTx: number;
  EchoAddTx: number;
  /** A received ADD_ADDR dropped (HMAC missing or not verifying). */
  AddAddrDrop: number;
  /** MP_FASTCLOSE sent / received (with our key). */
  MPFastcloseTx: number;
  MPFastcloseRx: number;
  /** MP_PRIO sent / received. */
  MPPrioTx: number;
  MPPrioRx: number;
  /** An MP_JOIN SYN refused by the path manager's `subflows` limit. */
  MPJoinRejected: number;
  /** RM_ADDR address ids received (one per id, as the kernel counts) / RM_ADDR options sent. */
  RmAddr: number;
  RmAddrTx: number;
  /** Subflows closed because their address was removed (by us or by the peer's RM_ADDR). */
  RmSubflow: number;
  /** A subflow marked stale (repeated RTOs while another works; its data reinjected) / recovered (ACKs again). */
  SubflowStale: number;
  SubflowRecover: number;
  /** MP_FAIL sent / received (RFC 8684 3.7, a DSS checksum failure). */
  MPFailTx: number;
  /** Checksum failures handled by a fallback to TCP / by a subflow reset (kernel DSSCorruption*). */
  DSSCorruptionFallback: number;
  DSSCorruptionReset: number;
  MPFailRx: number;
  /** Infinite mappings (fallback to TCP after MP_FAIL) sent / received. */
  InfiniteMapTx: number;
  InfiniteMapRx: number;
}

/** A fresh counter object, all zero. */
export function createMptcpCounters(): MptcpCounters {
  return {
    MPCapableSYNRX: 0,
    MPCapableSYNTX: 0,
    MPCapableSYNACKRX: 0,
    MPCapableACKRX: 0,
    MPCapableFallbackACK: 0,
    MPCapableFallbackSYNACK: 0,
    DSSNotMatching: 0,
    DSSNoMatchTCP: 0,
    DssFallback: 0,
    DataCsumErr: 0,
    DuplicateData: 0,
    DataFinTx: 0,
    DataFinRx: 0,
    MPJoinSynTx: 0,
    MPJoinSynRx: 0,
    MPJoinSynBackupRx: 0,
    MPJoinSynAckRx: 0,
    MPJoinSynAckBackupRx: 0,
    MPJoinSynAckHMacFailure: 0,
    MPJoinAckRx: 0,
    MPJoinAckHMacFailure: 0,
    MPJoinNoTokenFound: 0,
    MPRstTx: 0,
    MPRstRx: 0,
    MPTCPRetrans: 0,
    SubflowStale: 0,
    SubflowRecover: 0,
    MPFailTx: 0,
    DSSCorruptionFallback: 0,
    DSSCorruptionReset: 0,
    MPFailRx: 0,
    InfiniteMapTx: 0,
    InfiniteMapRx: 0,
    AddAddr: 0,
    EchoAdd: 0,
    AddAddrTx: 0,
    EchoAddTx: 0,
    AddAddrDrop: 0,
    MPFastcloseTx: 0,
    MPFastcloseRx: 0,
    MPPrioTx: 0,
    MPPrioRx: 0,
    MPJoinRejected: 0,
    RmAddr: 0,
    RmAddrTx: 0,
    RmSubflow: 0,
  };
}
