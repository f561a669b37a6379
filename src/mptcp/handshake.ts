/**
 * MPTCP handshakes: MP_CAPABLE (the connection's keys, the checksum flag, the C flag) and MP_JOIN (each
 * further subflow, authenticated with HMACs of both keys and both nonces). The options each handshake puts
 * on SYN, SYN/ACK, third ACK and first data, and what it does with the peer's.
 *
 * Read first: RFC 8684 3.1 (MP_CAPABLE: SYN without key, SYN/ACK with the listener's key, third ACK with
 * both, "the ACK ... MUST be retransmitted ... until a DSS is received"; the first data may carry both keys
 * and the data-level length instead), 3.2 (MP_JOIN: token, nonces, truncated HMAC on the SYN/ACK, 160-bit
 * HMAC on the third ACK, and "the initiator MUST NOT send data on the subflow until it has received the
 * fourth ACK"); Linux net/mptcp/options.c `mptcp_syn_options`, `mptcp_synack_options`,
 * `mptcp_established_options_mp`, `check_fully_established`, and subflow.c `subflow_finish_connect`,
 * `subflow_hmac_valid`, `subflow_token_join_request`, `mptcp_subflow_reset` (a failed join is reset with
 * MP_TCPRST).
 */
import { TcpFlags, type TcpOption, type TcpSegment } from '../wire/tcp.js';
import { MpCapableFlag, MpTcpRstReason, type MpCapableOption, type MpJoinOption, type MpJoinSynOption, type MptcpOption } from '../wire/mptcp-option.js';
import type { TcpSegmentDraft } from '../tcp/connection.js';
import type { Micros } from '../time/micros.js';
import { hmacEqual, joinAckHmac, joinSynAckHmac, randomNonce, type RandomBytes } from './keys.js';
import type { ConnectionContext } from './context.js';
import { JOIN_ACK_RTO_MAX, JoinHandshake, type Subflow } from './subflow.js';

/** The MPTCP version this stack speaks (RFC 8684). */
export const MPTCP_VERSION = 1;

/** A DSS option as parsed. */
export type DssOption = Extract<MptcpOption, { subtype: 'DSS' }>;

/** The connection's handshakes (see the file comment). */
export class Handshake {
  /** DSS checksums are in use: we asked (net.mptcp.checksum_enabled) or the peer set flag A. */
  checksum: boolean;
  /** The peer set the C flag in its MP_CAPABLE (no join to its initial address). */
  peerDenyJoinId0 = false;
  /** Both ends proved they hold both keys (RFC 8684 3.1: for the client, a DSS or valid ADD_ADDR came). */
  fullyEstablished = false;
  /** Client: the third ACK with both keys went out at least once. */
  #capableAckSent = false;
  readonly #ctx: ConnectionContext;
  /** The source of our MP_JOIN nonces. */
  readonly #randomBytes: RandomBytes;

  constructor(ctx: ConnectionContext, wantChecksum: boolean, randomBytes: RandomBytes) {
    this.#ctx = ctx;
    this.checksum = wantChecksum;
    this.#randomBytes = randomBytes;
  }

  /** A new MP_JOIN handshake with a fresh nonce: 'synSent' for a join we open, 'synReceived' for the peer's. */
  newJoin(state: 'synSent' | 'synReceived'): JoinHandshake {
    return new JoinHandshake(state, randomNonce(this.#randomBytes));
  }

  /** MP_CAPABLE flags: H (HMAC-SHA256), and A when checksums are on. */
  #flags(): number {
    return MpCapableFlag.H | (this.checksum ? MpCapableFlag.A : 0);
  }

  // ---- MP_CAPABLE, out ----

  /** The SYN's MP_CAPABLE (4 bytes: version and flags only). */
  capableSyn(sf: Subflow, draft: TcpSegmentDraft): readonly TcpOption[] {
    sf.send.isn = draft.seq >>> 0;
    this.#ctx.counters.MPCapableSYNTX++;
    return [{ kind: 'mptcp', option: { subtype: 'MP_CAPABLE', version: MPTCP_VERSION, flags: this.#flags() } }];
  }

  /** The SYN/ACK's MP_CAPABLE with our key (only while the handshake is on). */
  capableSynAck(sf: Subflow, draft: TcpSegmentDraft): readonly TcpOption[] | undefined {
    sf.send.isn = draft.seq >>> 0;
    const ctx = this.#ctx;
    if (ctx.state.kind !== 'handshake' || !ctx.server) return undefined;
    return [{ kind: 'mptcp', option: { subtype: 'MP_CAPABLE', version: MPTCP_VERSION, flags: this.#flags(), senderKey: ctx.keys.localKey } }];
  }

  /**
   * The client's third ACK with both keys, while it must be repeated: RFC 8684 3.1, until a DSS arrives
   * (Linux stops repeating it once a DATA_FIN is due and it went out once: the DATA_FIN needs the DSS).
   */
  capableAck(sf: Subflow, dataFinNow: boolean): readonly TcpOption[] | undefined {
    const ctx = this.#ctx;
    if (sf.join || ctx.server || this.fullyEstablished || (dataFinNow && this.#capableAckSent)) return undefined;
    this.#capableAckSent = true;
    return [{ kind: 'mptcp', option: { subtype: 'MP_CAPABLE', version: MPTCP_VERSION, flags: this.#flags(), senderKey: ctx.keys.localKey, receiverKey: ctx.keys.remoteKey! } }];
  }

  /**
   * RFC 8684 3.1 / Linux: the client's first data (subflow sequence 1, before full establishment) carries
   * MP_CAPABLE with both keys and the data-level length (22 bytes, 24 with a checksum) instead of a DSS.
   */
  capableData(sf: Subflow, subflowSeq: number, length: number, checksum: number | undefined): readonly TcpOption[] | undefined {
    const ctx = this.#ctx;
    if (sf.join || ctx.server || this.fullyEstablished || subflowSeq !== 1) return undefined;
    const option: MpCapableOption = {
      subtype: 'MP_CAPABLE',
      version: MPTCP_VERSION,
      flags: this.#flags(),
      senderKey: ctx.keys.localKey,
      receiverKey: ctx.keys.remoteKey!,
      dataLength: length,
      ...(checksum !== undefined ? { checksum } : {}),
    };
    return [{ kind: 'mptcp', option }];
  }

  // ---- MP_JOIN, out ----

  /** The join SYN: the peer's token, our address id, backup flag and nonce. */
  joinSyn(sf: Subflow, hs: JoinHandshake, draft: TcpSegmentDraft): readonly TcpOption[] {
    sf.send.isn = draft.seq >>> 0;
    this.#ctx.counters.MPJoinSynTx++;
    const option: MpJoinSynOption = {
      subtype: 'MP_JOIN',
      form: 'syn',
      backup: sf.backupLocal,
      addressId: sf.localAddressId,
      token: this.#ctx.keys.remoteToken!,
      nonce: hs.localNonce,
    };
    return [{ kind: 'mptcp', option }];
  }

  /** The join SYN/ACK: our nonce and the truncated HMAC-B. */
  joinSynAck(sf: Subflow, hs: JoinHandshake, draft: TcpSegmentDraft): readonly TcpOption[] {
    sf.send.isn = draft.seq >>> 0;
    const keys = this.#ctx.keys;
    const hmac = joinSynAckHmac(keys.localKey, keys.remoteKey!, hs.localNonce, hs.remoteNonce);
    const option: MpJoinOption = { subtype: 'MP_JOIN', form: 'synack', backup: sf.backupLocal, addressId: sf.localAddressId, hmac, nonce: hs.localNonce };
    return [{ kind: 'mptcp', option }];
  }

  /**
   * RFC 8684 3.2: the client's third ACK carries the 160-bit HMAC-A; repeated (its timer armed here, at the
   * subflow's RTO or more) until the fourth ACK arrives.
   */
  joinAck(sf: Subflow, hs: JoinHandshake): readonly TcpOption[] {
    const keys = this.#ctx.keys;
    const hmac = joinAckHmac(keys.localKey, keys.remoteKey!, hs.localNonce, hs.remoteNonce);
    if (hs.ackTimer === undefined) hs.ackTimer = this.#ctx.now + Math.max(hs.ackRto, sf.tcp.info().rtoMicros);
    return [{ kind: 'mptcp', option: { subtype: 'MP_JOIN', form: 'ack', hmac } }];
  }

  /** The third ACK's timer (client, until the fourth ACK): repeat it, backed off. */
  joinAckTimeout(sf: Subflow, now: Micros): void {
    const hs = sf.joinHandshake;
    if (hs === undefined || hs.ackTimer === undefined || hs.ackTimer > now) return;
    hs.ackTimer = undefined;
    if (hs.state === 'ackSent' && sf.tcp.state === 'ESTABLISHED') {
      hs.ackRto = Math.min(hs.ackRto * 2, JOIN_ACK_RTO_MAX);
      sf.tcp.requestAck();
    }
  }

  // ---- in ----

  /**
   * MP_CAPABLE on the initial subflow's segments (`capable`: the segment's first MP_CAPABLE). Returns true
   * when the segment's data-level options are for the caller (the handshake did not end with it).
   */
  capableInput(sf: Subflow, segment: TcpSegment, capable: MpCapableOption | undefined): boolean {
    const ctx = this.#ctx;
    const flags = segment.flags;
    if (flags & TcpFlags.RST) return false;
    if (flags & TcpFlags.SYN) {
      if (flags & TcpFlags.ACK) {
        if (ctx.server || ctx.state.kind !== 'handshake') return false;
        sf.receive.isn = segment.seq >>> 0;
        if (capable && capable.version === MPTCP_VERSION && capable.senderKey && capable.receiverKey === undefined) {
          ctx.counters.MPCapableSYNACKRX++;
          this.peerDenyJoinId0 = (capable.flags & MpCapableFlag.C) !== 0;
          ctx.keys.setRemoteKey(capable.senderKey);
          if (capable.flags & MpCapableFlag.A) this.checksum = true;
          ctx.enterMptcp();
        } else {
          ctx.counters.MPCapableFallbackSYNACK++;
          ctx.fallBack();
        }
      } else if (ctx.server && ctx.state.kind === 'handshake') {
        sf.receive.isn = segment.seq >>> 0;
        ctx.counters.MPCapableSYNRX++;
        if (capable && capable.flags & MpCapableFlag.A) this.checksum = true;
      }
      return false;
    }
    if (ctx.server && ctx.state.kind === 'handshake') {
      if (!(flags & TcpFlags.ACK)) return false;
      // The third ACK (or the first data, if it was lost): both keys, ours echoed.
      if (capable && capable.senderKey && capable.receiverKey && ctx.keys.isLocalKey(capable.receiverKey)) {
        ctx.counters.MPCapableACKRX++;
        ctx.keys.setRemoteKey(capable.senderKey);
        if (capable.flags & MpCapableFlag.A) this.checksum = true;
        ctx.enterMptcp();
        ctx.becomeFullyEstablished();
      } else {
        ctx.counters.MPCapableFallbackACK++;
        ctx.fallBack();
        return false;
      }
    }
    return true;
  }

  /**
   * MP_JOIN on a joined subflow's segments: SYN / SYN/ACK / third ACK / fourth ACK, HMACs checked. Returns
   * the segment's DSS when the subflow is fully established and the connection MPTCP (the caller handles
   * it), else undefined.
   */
  joinInput(sf: Subflow, hs: JoinHandshake, segment: TcpSegment): DssOption | undefined {
    const ctx = this.#ctx;
    const flags = segment.flags;
    let join: MpJoinOption | undefined;
    let dss: DssOption | undefined;
    for (const o of segment.options) {
      if (o.kind !== 'mptcp') continue;
      if (o.option.subtype === 'MP_JOIN') join ??= o.option;
      else if (o.option.subtype === 'DSS') dss ??= o.option;
      else if (o.option.subtype === 'MP_TCPRST' && flags & TcpFlags.RST) ctx.counters.MPRstRx++;
    }
    if (flags & TcpFlags.RST) return undefined;
    if (hs.state === 'failed') return undefined;
    const keys = ctx.keys;
    if (flags & TcpFlags.SYN) {
      if (flags & TcpFlags.ACK) {
        // Client: the SYN/ACK must carry MP_JOIN with HMAC-B = HMAC(Key-B || Key-A, R-B || R-A), truncated.
        if (ctx.server || hs.state !== 'synSent') return undefined;
        sf.receive.isn = segment.seq >>> 0;
        if (join === undefined || join.form !== 'synack') {
          this.#failJoin(sf, hs);
          return undefined;
        }
        const expected = joinSynAckHmac(keys.remoteKey!, keys.localKey, join.nonce, hs.localNonce);
        if (!hmacEqual(join.hmac, expected)) {
          ctx.counters.MPJoinSynAckHMacFailure++;
          this.#failJoin(sf, hs);
          return undefined;
        }
        ctx.counters.MPJoinSynAckRx++;
        if (join.backup) ctx.counters.MPJoinSynAckBackupRx++;
        hs.remoteNonce = join.nonce;
        sf.remoteAddressId = join.addressId;
        sf.backupPeer = join.backup;
        hs.state = 'ackSent';
      } else if (join !== undefined && join.form === 'syn') {
        // Server: the SYN (the host already matched the token).
        sf.receive.isn = segment.seq >>> 0;
        hs.remoteNonce = join.nonce;
        sf.remoteAddressId = join.addressId;
        sf.backupPeer = join.backup;
        ctx.counters.MPJoinSynRx++;
        if (join.backup) ctx.counters.MPJoinSynBackupRx++;
      }
      return undefined;
    }
    if (!(flags & TcpFlags.ACK)) return undefined;
    if (hs.state === 'synReceived') {
      // Server: the third ACK with HMAC-A = HMAC(Key-A || Key-B, R-A || R-B), 160 bits.
      if (join === undefined || join.form !== 'ack') {
        this.#failJoin(sf, hs);
        return undefined;
      }
      const expected = joinAckHmac(keys.remoteKey!, keys.localKey, hs.remoteNonce, hs.localNonce);
      if (!hmacEqual(join.hmac, expected)) {
        ctx.counters.MPJoinAckHMacFailure++;
        this.#failJoin(sf, hs);
        return undefined;
      }
      ctx.counters.MPJoinAckRx++;
      hs.state = 'full';
      ctx.forbidInfiniteFallback();
      ctx.subflowEstablished(sf, hs);
      sf.tcp.requestAck(); // the fourth ACK (RFC 8684 3.2)
      return undefined;
    }
    if (hs.state === 'ackSent') {
      // Client: the peer acknowledged the third ACK (the fourth ACK): the subflow may carry data.
      hs.state = 'full';
      ctx.forbidInfiniteFallback();
      hs.ackTimer = undefined;
      ctx.subflowEstablished(sf, hs);
    }
    if (hs.state !== 'full' || (ctx.state.kind !== 'mptcp' && ctx.state.kind !== 'fastClosing')) return undefined;
    return dss;
  }

  /** A bad or missing MP_JOIN: the subflow is reset with MP_TCPRST at the end of this input. */
  #failJoin(sf: Subflow, hs: JoinHandshake): void {
    hs.state = 'failed';
    sf.resetReason = MpTcpRstReason.MPTCP_SPECIFIC;
    sf.abortPending = true;
  }
}

/** The MP_CAPABLE option of a SYN when it asks for MPTCP v1 (what a listener answers with MPTCP). */
export function synMpCapable(syn: TcpSegment): MpCapableOption | undefined {
  for (const o of syn.options) {
    if (o.kind === 'mptcp' && o.option.subtype === 'MP_CAPABLE') {
      const c = o.option;
      return c.version === MPTCP_VERSION && c.senderKey === undefined ? c : undefined;
    }
  }
  return undefined;
}

/** The MP_JOIN option of a SYN (a request to join the connection with `token`). */
export function synMpJoin(syn: TcpSegment): MpJoinSynOption | undefined {
  for (const o of syn.options) {
    if (o.kind === 'mptcp' && o.option.subtype === 'MP_JOIN' && o.option.form === 'syn') return o.option;
  }
  return undefined;
}
