/**
 * One subflow of an MPTCP connection (quinn's `PathData`, Linux's `struct mptcp_subflow_context`): its TCP
 * connection, the MPTCP extension of that TCP connection (options out and in go to the connection), the
 * data-level mappings of what it sends and receives, its address ids and backup flags, its join handshake,
 * its stale mark, and how it ends. It owns the predicates the connection asks of it (usable, live, stale
 * count) and the snapshot the scheduler sees.
 *
 * Read first: RFC 8684 3.3 (DSS: a mapping ties data sequence numbers to subflow sequence numbers, "a
 * mapping ... MUST be ... consistent"), 3.3.8 (backup), 3.3.6 (reinjection when a subflow fails); Linux
 * net/mptcp/protocol.h `struct mptcp_subflow_context`, protocol.c `mptcp_subflow_get_send`, pm.c
 * `mptcp_pm_subflows_chk_stale` (`stale_count`).
 *
 * Subflow sequence numbers here are relative: 1 is the first data byte (ISN + 1).
 */
import type { CoupledSubflow } from '../cc/coupled.js';
import type { TcpConnection, TcpExtension, TcpSegmentDraft, TcpSegmentKind } from '../tcp/connection.js';
import type { TcpConfig, TcpError } from '../tcp/types.js';
import type { Micros } from '../time/micros.js';
import type { TcpOption, TcpSegment } from '../wire/tcp.js';
import type { U64 } from '../wire/u64.js';
import type { SubflowView } from '../sched/types.js';
import type { MptcpCounters } from './mib.js';
import type { SendBuffer } from './send-buffer.js';

/**
 * Join state of a subflow: 'none' for the MP_CAPABLE subflow; client 'synSent' -> 'ackSent' (third ACK sent,
 * waiting for the fourth) -> 'full'; server 'synReceived' -> 'full' (third ACK verified); 'failed' after a
 * bad HMAC or a missing MP_JOIN (the subflow is reset with MP_TCPRST).
 */
export type JoinState = 'none' | 'synSent' | 'ackSent' | 'synReceived' | 'full' | 'failed';

/** MP_JOIN third-ACK retransmission: start (Linux retransmits it with the subflow's RTO). */
export const JOIN_ACK_RTO_MIN: Micros = 200_000;
/** ... and its cap (as the DATA_FIN's). */
export const JOIN_ACK_RTO_MAX: Micros = 60_000_000;

/**
 * Option bytes reserved on every data segment for the DSS (Linux's sizing: 64-bit DATA_ACK and mapping, 4 + 8 +
 * 14, and the checksum, 2): a full data segment carries `sendMss - DATA_OPTION_BYTES` payload bytes, which is
 * the `mss` the scheduler sees.
 */
export const DATA_OPTION_BYTES = 28;

/**
 * The MP_JOIN handshake state of one joined subflow (Linux keeps it in the subflow context: nonces, thmac):
 * nonces, progress, the third-ACK retransmission. The handshake itself is in handshake.ts.
 */
export class JoinHandshake {
  state: JoinState;
  /** Our nonce (R-A on the client, R-B on the server). */
  localNonce: number;
  /** The peer's nonce, from its SYN or SYN/ACK. */
  remoteNonce = 0;
  /** Third-ACK retransmission deadline (client, until the fourth ACK). */
  ackTimer: Micros | undefined = undefined;
  ackRto: Micros = JOIN_ACK_RTO_MIN;
  /** SF_ESTABLISHED was reported (joins only, as Linux). */
  announced = false;

  constructor(state: 'synSent' | 'synReceived', localNonce: number) {
    this.state = state;
    this.localNonce = localNonce;
  }
}

/** One send mapping: `length` data bytes at `dataOffset` went to subflow relative sequence `subflowSeq`. */
export interface SendMap {
  subflowSeq: number;
  dataOffset: number;
  length: number;
}

/** One received mapping (data bytes only; a DATA_FIN is recorded separately). */
export interface ReceiveMap {
  readonly subflowSeq: number;
  readonly dataOffset: number;
  readonly length: number;
  readonly checksum: number | undefined;
  /** With checksums, the absolute DSN and wire length the checksum covers. */
  readonly dsn: U64;
  readonly wireLength: number;
  /** With checksums: pieces held until the whole mapping has arrived and verified. */
  pieces: Uint8Array[] | undefined;
  received: number;
}

/** What a subflow hands to its connection: the options it writes and the segments it sees. */
export interface SubflowOwner {
  readonly counters: MptcpCounters;
  /** MPTCP options for a segment of `subflow` being built. */
  subflowOptions(subflow: Subflow, kind: TcpSegmentKind, draft: TcpSegmentDraft): readonly TcpOption[] | undefined;
  /** A segment `subflow` received, before TCP processes it. */
  subflowInput(subflow: Subflow, segment: TcpSegment): void;
}

/** What a subflow starts with. */
export interface SubflowInit {
  readonly id: number;
  /** Our address id of the local address (0 for the initial subflow). */
  readonly localAddressId: number;
  readonly backup: boolean;
  /** Opaque for the connection: the host's interface id (-1: the connection's own). */
  readonly tag: number;
  /** Our initial sequence number (also taken again from the SYN we send). */
  readonly localIsn: number;
  /** An MP_JOIN subflow's handshake; absent for the MP_CAPABLE subflow. */
  readonly joinHandshake?: JoinHandshake;
  /** The path-manager endpoint the subflow was created from. */
  readonly endpointId?: number | undefined;
  /** The peer's address id we joined (an announced address), if known before the SYN/ACK. */
  readonly remoteId?: number | undefined;
  /** The subflow's slot in the connection's coupled congestion-control group (src/cc/coupled.ts), if coupled. */
  readonly coupling?: CoupledSubflow | undefined;
}

/** What this subflow sent: its mappings from subflow bytes to data offsets. */
export class SubflowSendMaps {
  /** Our ISN (relative sequence 1 is the first data byte). */
  isn: number;
  /** Mappings by subflow sequence, oldest first (trimmed once DATA_ACKed and subflow-ACKed). */
  readonly maps: SendMap[] = [];
  /** Subflow bytes written (the relative sequence of the next byte written is written + 1). */
  written = 0;
  /** Relative sequence just past the last data byte handed to the wire. */
  sentEnd = 1;
  /** Data-level bytes handed to this subflow (first transmissions and reinjections). */
  dataBytesSent = 0;

  constructor(isn: number) {
    this.isn = isn;
  }

  /** `n` data bytes at `dataOffset` were written to the subflow: extend the last mapping or start one. */
  record(dataOffset: number, n: number): void {
    const seq = this.written + 1;
    const maps = this.maps;
    const last = maps[maps.length - 1];
    if (last && last.subflowSeq + last.length === seq && last.dataOffset + last.length === dataOffset) last.length += n;
    else maps.push({ subflowSeq: seq, dataOffset, length: n });
    this.written += n;
    this.dataBytesSent += n;
  }

  /** The mapping covering relative sequence `subflowSeq`. */
  mapAt(subflowSeq: number): SendMap | undefined {
    const maps = this.maps;
    let lo = 0;
    let hi = maps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = maps[mid]!;
      if (subflowSeq < m.subflowSeq) hi = mid - 1;
      else if (subflowSeq >= m.subflowSeq + m.length) lo = mid + 1;
      else return m;
    }
    return undefined;
  }

  /** Everything written went to the wire at least once. */
  get allSent(): boolean {
    return this.sentEnd >= this.written + 1;
  }

  /**
   * Drops mappings acknowledged at the data level (before `dataAcked`) and sent at least once (before
   * relative sequence `subflowAcked`), once there are many: the subflow may still retransmit bytes of a
   * trimmed map only if they were never acknowledged at the subflow level, which a DATA_ACK covering them on
   * the same subflow rules out; on other subflows the last maps are kept.
   */
  trim(dataAcked: number, tcp: TcpConnection): void {
    const maps = this.maps;
    if (maps.length < 64) return;
    const acked = 1 + tcp.bytesAcked;
    let k = 0;
    while (k < maps.length - 1 && maps[k]!.dataOffset + maps[k]!.length <= dataAcked && maps[k]!.subflowSeq + maps[k]!.length <= acked) k++;
    if (k > 0) maps.splice(0, k);
  }
}

/** What this subflow received: the peer's mappings, by subflow sequence. */
export class SubflowReceiveMaps {
  /** The peer's ISN. */
  isn = 0;
  /** Mappings not yet consumed, sorted by subflow sequence. */
  readonly maps: ReceiveMap[] = [];
  /** Relative sequence of the next byte read from the subflow. */
  readSeq = 1;
  /** Data-level bytes read from this subflow (before duplicate removal). */
  dataBytesReceived = 0;
}

/** Progress of a subflow for the stale check and the data-level timer (Linux `stale_count`). */
export class SubflowProgress {
  /** Linux `subflow->stale`: not used by the scheduler while another subflow works. */
  stale = false;
  /** TCP bytesAcked and timeouts when the subflow last made progress (RTOs since = `stale_count`). */
  acked = 0;
  timeouts = 0;
  /** `acked` when everything this subflow held was last reinjected by the data-level timer. */
  bulkReinjectedAt = -1;
  /** Data offset up to which that reinjection covered what the subflow held (later data may need another). */
  bulkReinjectedTo = 0;
  /** When opportunistic reinjection last reduced this subflow's window (at most once per its SRTT). */
  penalizedAt = -Infinity;
  /**
   * Since when the subflow has had data outstanding without an acknowledgment (the stale check's clock),
   * and the `acked` it last saw move.
   */
  quietSince: Micros = 0;
  quietAcked = 0;
  /** While stale, or silent with every other subflow: when its path is probed next (`TcpConnection.probePath`). */
  probeAt: Micros | undefined = undefined;
}

/** One subflow of a connection (see the file comment). */
export class Subflow {
  readonly id: number;
  readonly tcp: TcpConnection;
  /** Opaque for the connection: the host's interface id for this subflow. */
  tag: number;
  readonly localAddressId: number;
  /** The peer's address id (0 for the initial subflow; from its MP_JOIN for a join). */
  remoteAddressId: number | undefined;
  backupLocal: boolean;
  backupPeer = false;
  /** The path-manager endpoint this subflow was created from, if any. */
  readonly endpointId: number | undefined;
  /** The peer's address id we joined (an announced address), if known before the SYN/ACK. */
  readonly pmRemoteId: number | undefined;
  /** MP_PRIO to send on this subflow (our backup flag changed; Linux `send_mp_prio`). */
  prioDue = false;
  /** The MP_JOIN handshake; undefined for the MP_CAPABLE subflow. */
  readonly joinHandshake: JoinHandshake | undefined;
  readonly send: SubflowSendMaps;
  readonly receive = new SubflowReceiveMaps();
  readonly progress = new SubflowProgress();
  /** Reset reason for the MP_TCPRST of our RST, when we reset it. */
  resetReason: number | undefined = undefined;
  /** Abort at the end of the current input or driver call. */
  abortPending = false;
  /** MP_FAIL to send (RFC 8684 3.7): on a pure ACK (single subflow, fallback) or with the subflow's RST. */
  failDsn: U64 | undefined = undefined;
  /** The peer's MP_TCPRST reason and flags, when it reset the subflow with one (SF_CLOSED reports them). */
  peerReset: { readonly reason: number; readonly flags: number } | undefined = undefined;
  /** TCP reported 'closed' (with its error, if any). */
  #closed: { readonly error: TcpError | undefined } | undefined = undefined;
  readonly #owner: SubflowOwner;
  /**
   * Its place in the connection's coupled group: its controller (LIA, OLIA, BALIA) publishes there and sees
   * the siblings; it drops out of the sums while stale and leaves when the subflow closes.
   */
  readonly coupling: CoupledSubflow | undefined;

  /**
   * The record first, then its TCP connection: `open` is called with this subflow's TCP extension (a
   * passive open already hands it the SYN), and everything but `tcp` is set by then.
   */
  constructor(owner: SubflowOwner, init: SubflowInit, open: (extension: TcpExtension) => TcpConnection) {
    this.#owner = owner;
    this.id = init.id;
    this.tag = init.tag;
    this.localAddressId = init.localAddressId;
    this.joinHandshake = init.joinHandshake;
    this.remoteAddressId = init.joinHandshake !== undefined ? undefined : 0;
    this.backupLocal = init.backup;
    this.endpointId = init.endpointId;
    this.pmRemoteId = init.remoteId;
    this.send = new SubflowSendMaps(init.localIsn);
    this.coupling = init.coupling;
    this.tcp = open(this.#extension());
  }

  /** Added with MP_JOIN (false for the initial MP_CAPABLE subflow). */
  get join(): boolean {
    return this.joinHandshake !== undefined;
  }

  /** 'none' for the MP_CAPABLE subflow. */
  get joinState(): JoinState {
    return this.joinHandshake?.state ?? 'none';
  }

  /** Our initial sequence number. */
  get localIsn(): number {
    return this.send.isn;
  }

  /** The peer's initial sequence number (from its SYN or SYN/ACK). */
  get remoteIsn(): number {
    return this.receive.isn;
  }

  /** Our MP_JOIN nonce (0 for the MP_CAPABLE subflow); writable for tests that corrupt a handshake. */
  get localNonce(): number {
    return this.joinHandshake?.localNonce ?? 0;
  }

  set localNonce(nonce: number) {
    if (this.joinHandshake !== undefined) this.joinHandshake.localNonce = nonce;
  }

  /** Linux `subflow->stale`. */
  get stale(): boolean {
    return this.progress.stale;
  }

  /** TCP reported 'closed'. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** The error TCP closed with. */
  get closedError(): TcpError | undefined {
    return this.#closed?.error;
  }

  /** TCP reported 'closed' with `error`. */
  markClosed(error: TcpError | undefined): void {
    this.#closed = { error };
    this.coupling?.leave();
  }

  /** Linux marks the subflow stale: it cannot send for now, so it leaves the coupled sums (mptcp_sk_can_send). */
  markStale(probeAt: Micros): void {
    this.progress.stale = true;
    this.progress.probeAt = probeAt;
    this.coupling?.setCanSend(false);
  }

  /** The subflow may carry data now. */
  get usable(): boolean {
    if (this.#closed !== undefined || this.abortPending) return false;
    const st = this.tcp.state;
    if (st !== 'ESTABLISHED' && st !== 'CLOSE-WAIT') return false;
    if (this.joinHandshake !== undefined) return this.joinHandshake.state === 'full';
    return true;
  }

  /** Not closed, not being reset, not CLOSED. */
  get live(): boolean {
    return this.#closed === undefined && !this.abortPending && this.joinState !== 'failed' && this.tcp.state !== 'CLOSED';
  }

  /** The peer's address id of a subflow (the announced id we joined, or the one of its MP_JOIN / 0). */
  get remoteId(): number {
    return this.pmRemoteId ?? this.remoteAddressId ?? 0;
  }

  /** RTOs since this subflow last made progress (Linux `stale_count`); progress clears the stale mark. */
  staleCount(): number {
    const tcp = this.tcp;
    const p = this.progress;
    const acked = tcp.bytesAcked;
    const timeouts = tcp.timeouts;
    if (acked !== p.acked) {
      p.acked = acked;
      p.timeouts = timeouts;
      p.probeAt = undefined;
      if (p.stale) {
        p.stale = false;
        this.coupling?.setCanSend(true);
        this.#owner.counters.SubflowRecover++;
      }
    }
    return timeouts - p.timeouts;
  }

  /** The snapshot the scheduler decides on. */
  view(): SubflowView {
    const tcp = this.tcp;
    const inFlight = tcp.bytesInFlight;
    return {
      id: this.id,
      established: this.usable,
      backupLocal: this.backupLocal,
      backupPeer: this.backupPeer,
      srttMicros: tcp.srttMicros,
      rttvarMicros: tcp.rttvarMicros,
      cwndBytes: tcp.cwndBytes,
      bytesInFlight: inFlight,
      sendWindowBytes: Math.max(0, tcp.sendWindowBytes - inFlight),
      // Payload of a full data segment: every one carries the DSS option the extension reserves room for.
      mss: Math.max(1, tcp.sendMss - DATA_OPTION_BYTES),
      // Handed to the subflow and not yet on the wire (segments never span two mappings: `segmentLimit`).
      queuedBytes: Math.max(0, this.send.written + 1 - this.send.sentEnd),
      stale: this.progress.stale,
      family: tcp.endpoints.localAddress.length === 16 ? 6 : 4,
    };
  }

  /** Hands `length` data bytes at `offset` of `buffer` to the subflow; returns the bytes it accepted. */
  push(buffer: SendBuffer, offset: number, length: number): number {
    let done = 0;
    while (done < length) {
      const bytes = buffer.slice(offset + done, length - done);
      if (bytes.length === 0) break;
      const n = this.tcp.write(bytes);
      if (n === 0) break;
      this.send.record(offset + done, n);
      done += n;
      if (n < bytes.length) break;
    }
    return done;
  }

  /**
   * The MPTCP extension of this subflow's TCP connection (built once; TCP may call its hooks unbound). The
   * options reservation, as Linux sizes it: a DSS with 64-bit DATA_ACK and 64-bit mapping (4 + 8 + 14) and a
   * checksum (2) on data, 28; a DSS with a 64-bit DATA_ACK on pure ACKs, 12 (24 for the MP_JOIN third ACK,
   * until the join is fully established: after it, 24 bytes with timestamps left no room for a SACK block,
   * and the peer recovered the losses of a joined subflow without SACK, by RTO).
   */
  #extension(): TcpExtension {
    return new SubflowExtension(this.#owner, this);
  }
}

/**
 * The extension object of `Subflow.#extension`: an instance of a class rather than an object literal, whose
 * getter made it a dictionary-mode object in V8 (TCP reads its hooks on every segment). The hooks are own
 * function properties, so TCP may still call them unbound.
 */
class SubflowExtension implements TcpExtension {
  readonly reservedOptionBytes = DATA_OPTION_BYTES;
  readonly outgoingOptions: (kind: TcpSegmentKind, draft: TcpSegmentDraft) => readonly TcpOption[] | undefined;
  readonly segmentLimit: (position: number) => number;
  readonly onOptions: (segment: TcpSegment) => void;
  readonly coupling: CoupledSubflow | undefined;
  readonly #join: JoinHandshake | undefined;

  constructor(owner: SubflowOwner, sf: Subflow) {
    const send = sf.send;
    this.#join = sf.joinHandshake;
    this.outgoingOptions = (kind, draft) => owner.subflowOptions(sf, kind, draft);
    // One segment never spans two mappings (Linux never collapses skbs of different mappings).
    this.segmentLimit = (position) => {
      const m = send.mapAt(position);
      return m === undefined ? Infinity : m.subflowSeq + m.length - position;
    };
    this.onOptions = (segment) => owner.subflowInput(sf, segment);
    this.coupling = sf.coupling;
  }

  get reservedAckOptionBytes(): number {
    const join = this.#join;
    return join !== undefined && join.state !== 'full' ? 24 : 12;
  }
}

/** Initial and largest receive buffer of a subflow (see `subflowConfig`). */
const SUBFLOW_RCVBUF = 4 * 1024 * 1024;
const SUBFLOW_RCVBUF_MAX = 8 * 1024 * 1024;

/**
 * A subflow's TCP configuration. RFC 8684 3.3.4: the window a subflow advertises is read by the peer as the
 * connection-level window, relative to the DATA_ACK, and shared by every subflow; a subflow's own
 * receive-buffer autotuning (which sees only its share of the data) would keep it far too small while
 * another, slower subflow holds the DATA_ACK back. Like Linux, which sizes subflow windows from the
 * connection's receive space, subflows start with a larger buffer (SUBFLOW_RCVBUF, or the configured one if
 * larger) and autotune from there.
 */
export function subflowConfig(config: TcpConfig | undefined): TcpConfig {
  const start = Math.max(config?.receiveBufferBytes ?? 0, SUBFLOW_RCVBUF);
  return { ...config, receiveBufferBytes: start, receiveBufferMaxBytes: Math.max(config?.receiveBufferMaxBytes ?? 0, start, SUBFLOW_RCVBUF_MAX) };
}
