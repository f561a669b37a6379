/**
 * The receive side's mapping checks: a DSS mapping is validated against the segment it came with and the
 * mappings in use, kept by subflow sequence per subflow, and a subflow's in-order bytes are moved up to
 * the connection-level reassembly through those mappings (DSS checksums verified over the whole mapping).
 *
 * Read first: RFC 8684 3.3 ("a mapping ... MUST be ... consistent"; data without a mapping), 3.3.1 (the DSS
 * checksum), 3.3.3 (a DATA_FIN on a mapping), 3.7 (the infinite mapping); Linux net/mptcp/subflow.c
 * `get_mapping_status`, `validate_mapping`, `validate_data_csum`, `subflow_check_data_avail`, and
 * protocol.c `__mptcp_move_skbs_from_subflow`.
 *
 * Subflow sequence numbers are relative (1 is the first data byte); data offsets are from the peer's IDSN + 1.
 */
import type { TcpSegment } from '../wire/tcp.js';
import type { DssMapping } from '../wire/mptcp-option.js';
import { DssChecksumAccumulator, verifyDssChecksum } from '../wire/dss-checksum.js';
import type { Closing } from './close.js';
import { isMptcp, type ConnectionContext } from './context.js';
import { dsnFromOffset, offsetFromDsn32, offsetFromDsn64 } from './dsn.js';
import type { Fallback } from './fallback.js';
import type { ReceiveMap, Subflow } from './subflow.js';

const EMPTY = new Uint8Array(0);

/** Receive mappings in, subflow bytes up (see the file comment). */
export class Mappings {
  readonly #ctx: ConnectionContext;
  readonly #closing: Closing;
  readonly #fallback: Fallback;

  constructor(ctx: ConnectionContext, closing: Closing, fallback: Fallback) {
    this.#ctx = ctx;
    this.#closing = closing;
    this.#fallback = fallback;
  }

  /** Records a received mapping after validating it against the segment and the mappings in use. */
  add(sf: Subflow, segment: TcpSegment, mapping: DssMapping, dataFin: boolean): void {
    const ctx = this.#ctx;
    const closing = this.#closing;
    const remoteIdsn = ctx.keys.remoteIdsn!;
    const dataOffset = mapping.dsn64 ? offsetFromDsn64(remoteIdsn, mapping.dsn) : offsetFromDsn32(remoteIdsn, mapping.dsn.lo, ctx.receive.next);
    if (mapping.dataLength === 0 && !dataFin) {
      // An infinite mapping (RFC 8684 3.7): the peer fell back to TCP; so do we (single subflow).
      this.#fallback.infiniteMapReceived();
      if (!sf.join && ctx.subflows.length === 1) {
        this.pull(sf);
        ctx.fallBack();
      }
      return;
    }
    const dataLength = mapping.dataLength - (dataFin ? 1 : 0);
    if (dataLength <= 0 || mapping.subflowSeq === 0) {
      // A DATA_FIN on a segment without data (Linux: data-level length 1, subflow sequence 0).
      if (dataFin) {
        if (mapping.checksum !== undefined && dataLength === 0 && ctx.checksum && !verifyDssChecksum(mapping.dsn, mapping.subflowSeq, mapping.dataLength, EMPTY, mapping.checksum)) {
          ctx.counters.DataCsumErr++;
          return;
        }
        closing.noteDataFin(dataOffset + Math.max(0, dataLength));
      }
      closing.checkDataFin();
      return;
    }
    const subflowSeq = mapping.subflowSeq >>> 0;
    if (segment.payload.length > 0) {
      const segSeq = (segment.seq - sf.receive.isn) >>> 0;
      if (segSeq < subflowSeq || segSeq >= subflowSeq + dataLength) {
        ctx.counters.DSSNoMatchTCP++;
        return;
      }
    }
    // From here the mapping matches the segment it came with: a DATA_FIN on it is credible (Linux takes a
    // DATA_FIN on a data mapping only with the mapping).
    if (subflowSeq + dataLength <= sf.receive.readSeq) {
      if (dataFin) closing.noteDataFin(dataOffset + dataLength);
      return; // for bytes already consumed
    }
    const maps = sf.receive.maps;
    for (const m of maps) {
      if (subflowSeq < m.subflowSeq + m.length && m.subflowSeq < subflowSeq + dataLength) {
        const same = m.subflowSeq === subflowSeq && m.dataOffset === dataOffset && m.length === dataLength;
        if (!same) ctx.counters.DSSNotMatching++;
        else if (dataFin) closing.noteDataFin(dataOffset + dataLength);
        return; // identical (a retransmission) or conflicting: the one in use stays
      }
    }
    if (dataFin) closing.noteDataFin(dataOffset + dataLength);
    const entry: ReceiveMap = {
      subflowSeq,
      dataOffset,
      length: dataLength,
      checksum: ctx.checksum ? mapping.checksum : undefined,
      dsn: mapping.dsn.hi === 0 && !mapping.dsn64 ? dsnFromOffset(remoteIdsn, dataOffset) : mapping.dsn,
      wireLength: mapping.dataLength,
      pieces: ctx.checksum ? [] : undefined,
      received: 0,
    };
    let i = maps.length;
    while (i > 0 && maps[i - 1]!.subflowSeq > subflowSeq) i--;
    maps.splice(i, 0, entry);
  }

  /** Every subflow's in-order bytes up (stops once the connection fell back). */
  pullAll(): void {
    for (const s of this.#ctx.subflows) {
      this.pull(s);
      if (this.#ctx.state.kind === 'fallback') return;
    }
  }

  /** Moves a subflow's in-order bytes to the connection level through the mappings. */
  pull(sf: Subflow): void {
    const ctx = this.#ctx;
    if (!isMptcp(ctx.state)) return;
    if (sf.join && sf.joinState !== 'full') return;
    const tcp = sf.tcp;
    const receive = ctx.receive;
    while (receive.hasRoom) {
      const map = sf.receive.maps[0];
      if (map === undefined || map.subflowSeq > sf.receive.readSeq) {
        if (tcp.readableBytes > 0) this.#fallback.unmappedData(sf);
        return;
      }
      const skip = sf.receive.readSeq - map.subflowSeq;
      const want = map.length - skip;
      const bytes = tcp.read(want);
      if (bytes === undefined) return;
      const dataOffset = map.dataOffset + skip;
      sf.receive.readSeq += bytes.length;
      sf.receive.dataBytesReceived += bytes.length;
      const done = bytes.length === want;
      if (done) sf.receive.maps.shift();
      if (map.pieces !== undefined) {
        map.pieces.push(bytes);
        map.received += bytes.length;
        if (!done) continue;
        const acc = new DssChecksumAccumulator(map.dsn, map.subflowSeq, map.wireLength);
        for (const p of map.pieces) acc.add(p);
        if (map.checksum === undefined || !acc.verify(map.checksum)) {
          ctx.counters.DataCsumErr++;
          if (this.#fallback.checksumFailed(sf, map)) continue;
          return;
        }
        let at = map.dataOffset;
        for (const p of map.pieces) {
          ctx.insertData(at, p);
          at += p.length;
        }
        map.pieces = undefined;
      } else {
        ctx.insertData(dataOffset, bytes);
      }
    }
  }
}
