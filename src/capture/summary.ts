/**
 * The per-connection summary of a capture (`mptcp decode --summary`): groups TCP subflows into MPTCP
 * connections by token, as mptcptrace does, into a typed report (`SummaryReport`; ./format.ts has its text).
 *
 * RFC 8684 section 3.1: each side's token is the most significant 32 bits of SHA-256 of its key; the
 * client's key travels in the third ACK's MP_CAPABLE (and in a v0 SYN), the server's in the SYN/ACK (and
 * echoed in the third ACK). Section 3.2: an MP_JOIN SYN carries "the token of the receiver": a join SYN
 * sent by the connection's client carries the SERVER's token, one sent by the server the client's. So a join
 * is attached to the connection that registered its SYN's token; the side that sent the SYN follows.
 *
 * Work per frame is O(1) (maps keyed by 4-tuple and by token), so large captures summarise in one pass.
 * A join whose token is not known yet (its connection's handshake comes later in the file, or was not
 * captured) waits in a placeholder connection that is merged once the token appears.
 */
import { keyTokenAndIdsn } from '../mptcp/keys.js';
import { u64ToDecimal, u64ToHex, type U64 } from '../wire/u64.js';
import { TcpFlags } from '../wire/tcp.js';
import { formatAddress } from '../wire/address.js';
import { MpTcpRstFlag } from '../wire/mptcp-option.js';
import type { DecodedFrame } from './decode.js';

/** One side of a connection: its key and what is derived from it (tokens are numbers, as tshark prints). */
export interface KeyInfo {
  /** 16 hex digits. */
  readonly key: string;
  readonly token: number;
  /** Decimal string. */
  readonly idsn: string;
}

/** A subflow: a TCP connection that carried MP_CAPABLE (initial) or MP_JOIN (join). */
export interface SubflowReport {
  readonly kind: 'initial' | 'join' | 'unknown';
  /** The side of the MPTCP connection that sent this subflow's SYN. */
  readonly initiatedBy: 'client' | 'server' | 'unknown';
  /** Sender of the SYN, "addr:port" ([v6]:port). */
  readonly initiator: string;
  readonly listener: string;
  /** Address ids: the initiator's (MP_JOIN SYN) and the listener's (MP_JOIN SYN/ACK); 0 on the initial subflow. */
  readonly initiatorAddressId?: number;
  readonly listenerAddressId?: number;
  readonly initiatorBackup?: boolean;
  readonly listenerBackup?: boolean;
  /** MP_JOIN SYN token (the listener's token). */
  readonly token?: number;
  readonly firstFrame: number;
  readonly lastFrame: number;
  readonly packets: { readonly fromInitiator: number; readonly fromListener: number };
  /** TCP payload bytes. */
  readonly bytes: { readonly fromInitiator: number; readonly fromListener: number };
  /** The peer answered the MPTCP SYN with a plain SYN/ACK: fallback to TCP. */
  readonly fallback?: boolean;
  /**
   * MP_CAPABLE: the third ACK was seen. MP_JOIN: the listener acknowledged the third ACK (RFC 8684 3.2: the
   * subflow is usable once the initiator receives that ACK), so a join reset right after its handshake is not.
   */
  readonly established: boolean;
  readonly fin: { readonly fromInitiator: boolean; readonly fromListener: boolean };
  readonly reset: boolean;
  /** MP_PRIO seen on this subflow: the last backup value per direction. */
  readonly prio?: { readonly fromInitiator?: boolean; readonly fromListener?: boolean };
}

/** A signalling event in a connection (ADD_ADDR, RM_ADDR, MP_PRIO, MP_FAIL, MP_FASTCLOSE, MP_TCPRST). */
export interface SignalEvent {
  readonly frame: number;
  readonly from: 'client' | 'server' | 'unknown';
  readonly option: string;
  readonly detail: string;
}

/** One MPTCP connection. */
export interface ConnectionReport {
  readonly connection: number;
  readonly client?: string;
  readonly server?: string;
  readonly version?: number;
  readonly checksums?: boolean;
  readonly clientKey?: KeyInfo;
  readonly serverKey?: KeyInfo;
  /** When only a join's token is known (the MP_CAPABLE handshake is not in the capture). */
  readonly tokens?: readonly number[];
  readonly firstFrame: number;
  readonly lastFrame: number;
  readonly subflows: readonly SubflowReport[];
  readonly bytes: { readonly clientToServer: number; readonly serverToClient: number };
  /** How many of each signalling option were seen (DSS excluded). */
  readonly options: Readonly<Record<string, number>>;
  /** The first events (at most 100). */
  readonly events: readonly SignalEvent[];
  readonly dataFin: {
    readonly client?: { readonly frame: number; readonly dsn?: string };
    readonly server?: { readonly frame: number; readonly dsn?: string };
  };
  readonly fallback: boolean;
}

/** The whole summary. */
export interface SummaryReport {
  readonly frames: number;
  readonly connections: readonly ConnectionReport[];
  /** TCP connections whose SYN carried no MPTCP option. */
  readonly plainTcpConnections: number;
  /** TCP connections with MPTCP options whose handshake was not captured, so no token ties them to a connection. */
  readonly unattachedSubflows: number;
}

const MAX_EVENTS = 100;

interface Subflow {
  kind: 'initial' | 'join' | 'unknown';
  conn: Connection | undefined;
  /** Endpoint text of the SYN sender and receiver; `initiatorKey` is "addr port" to compare directions. */
  initiator: string;
  listener: string;
  initiatorKey: string;
  synSeq: number | undefined;
  initiatorAddressId?: number;
  listenerAddressId?: number;
  initiatorBackup?: boolean;
  listenerBackup?: boolean;
  token?: number;
  firstFrame: number;
  lastFrame: number;
  packetsFwd: number;
  packetsRev: number;
  bytesFwd: number;
  bytesRev: number;
  fallback: boolean;
  established: boolean;
  /** MP_JOIN third ACK seen (established once the listener acknowledges it). */
  joinAckSeen: boolean;
  finFwd: boolean;
  finRev: boolean;
  reset: boolean;
  prioFwd?: boolean;
  prioRev?: boolean;
  /** Whether the initiator of this subflow is the connection's client (undefined until known). */
  initiatorIsClient: boolean | undefined;
}

interface Connection {
  id: number;
  client?: string;
  server?: string;
  version?: number;
  checksums?: boolean;
  clientKey?: U64;
  serverKey?: U64;
  clientToken?: number;
  serverToken?: number;
  /** Placeholder for joins whose token is not registered yet. */
  placeholderToken?: number;
  mergedInto?: Connection;
  firstFrame: number;
  lastFrame: number;
  subflows: Subflow[];
  options: Record<string, number>;
  events: SignalEvent[];
  dataFinClient?: { frame: number; dsn?: string };
  dataFinServer?: { frame: number; dsn?: string };
}

/** Accumulates decoded frames (`add`), then builds the report (`finish`; its text: `summaryText` in ./format.ts). */
export class MptcpSummary {
  private frames = 0;
  private readonly connections: Connection[] = [];
  /** Both directions of each 4-tuple ("src sport dst dport") to its current subflow, or null for plain TCP. */
  private readonly byTuple = new Map<string, Subflow | null>();
  private readonly byToken = new Map<number, Connection>();
  private readonly placeholders = new Map<number, Connection>();
  private plainTcp = 0;
  private unattached = 0;

  /** Takes the next frame of the capture (frames in file order; any kind: only TCP frames count). */
  add(frame: DecodedFrame): void {
    this.frames++;
    if (frame.kind !== 'tcp') return;
    const s = frame.segment;
    const srcKey = `${frame.src} ${s.srcPort}`;
    const dstKey = `${frame.dst} ${s.dstPort}`;
    const tuple = `${srcKey} ${dstKey}`;
    const syn = (s.flags & TcpFlags.SYN) !== 0;
    const ackFlag = (s.flags & TcpFlags.ACK) !== 0;
    let sf = this.byTuple.get(tuple);
    const options = frame.mptcp;
    let capable: Extract<DecodedFrame, { kind: 'tcp' }>['mptcp'][number] | undefined;
    let join: Extract<DecodedFrame, { kind: 'tcp' }>['mptcp'][number] | undefined;
    for (const e of options) {
      if (e.kind !== 'option') continue;
      if (e.option.subtype === 'MP_CAPABLE') capable ??= e;
      else if (e.option.subtype === 'MP_JOIN') join ??= e;
    }

    // A SYN opens a subflow (a new one if the 4-tuple is reused with another ISN).
    if (syn && !ackFlag && (sf === undefined || sf === null || (sf.synSeq !== undefined && sf.synSeq !== s.seq))) {
      const initiator = endpointText(frame.src, s.srcPort, frame.ipVersion);
      const listener = endpointText(frame.dst, s.dstPort, frame.ipVersion);
      if (capable === undefined && join === undefined) {
        this.setTuple(srcKey, dstKey, null);
        this.plainTcp++;
        return;
      }
      sf = this.newSubflow(capable ? 'initial' : 'join', initiator, listener, srcKey, frame.frame, s.seq);
      this.setTuple(srcKey, dstKey, sf);
      if (capable && capable.kind === 'option' && capable.option.subtype === 'MP_CAPABLE') {
        const conn = this.newConnection(frame.frame);
        conn.client = initiator;
        conn.server = listener;
        conn.version = capable.option.version;
        conn.checksums = (capable.option.flags & 0x80) !== 0;
        sf.initiatorIsClient = true;
        sf.initiatorAddressId = 0;
        sf.listenerAddressId = 0;
        this.attach(conn, sf);
        // MPTCP v0 SYNs carry the client's key.
        if (capable.option.senderKey) this.setKey(conn, 'client', capable.option.senderKey);
      } else if (join && join.kind === 'option' && join.option.subtype === 'MP_JOIN' && join.option.form === 'syn') {
        sf.token = join.option.token;
        sf.initiatorAddressId = join.option.addressId;
        sf.initiatorBackup = join.option.backup;
        const conn = this.byToken.get(join.option.token) ?? this.placeholder(join.option.token, frame.frame);
        this.attach(conn, sf);
        sf.initiatorIsClient = this.sideOfToken(conn, join.option.token);
      }
    } else if (sf === null) {
      return; // plain TCP
    } else if (sf === undefined) {
      // Mid-connection start: no SYN in the capture. A third-ACK MP_CAPABLE still identifies the connection.
      if (capable === undefined && options.length === 0) return;
      const initiator = endpointText(frame.src, s.srcPort, frame.ipVersion);
      const listener = endpointText(frame.dst, s.dstPort, frame.ipVersion);
      const withBothKeys =
        capable && capable.kind === 'option' && capable.option.subtype === 'MP_CAPABLE' && capable.option.receiverKey !== undefined;
      sf = this.newSubflow(withBothKeys ? 'initial' : 'unknown', initiator, listener, srcKey, frame.frame, undefined);
      this.setTuple(srcKey, dstKey, sf);
      if (!withBothKeys) this.unattached++;
      if (withBothKeys) {
        const conn = this.newConnection(frame.frame);
        conn.client = initiator;
        conn.server = listener;
        sf.initiatorIsClient = true;
        this.attach(conn, sf);
      }
    }
    if (!sf) return;

    const forward = srcKey === sf.initiatorKey;
    sf.lastFrame = frame.frame;
    if (forward) {
      sf.packetsFwd++;
      sf.bytesFwd += frame.payloadLength;
    } else {
      sf.packetsRev++;
      sf.bytesRev += frame.payloadLength;
    }
    if (s.flags & TcpFlags.FIN) {
      if (forward) sf.finFwd = true;
      else sf.finRev = true;
    }
    if (s.flags & TcpFlags.RST) sf.reset = true;
    // The listener's ACK of the third ACK, or data (which A sends only after that ACK), completes a join.
    else if (sf.joinAckSeen && !syn && (!forward || frame.payloadLength > 0)) sf.established = true;
    // The SYN/ACK tells whether the listener speaks MPTCP on this subflow.
    if (syn && ackFlag && !forward && capable === undefined && join === undefined) {
      sf.fallback = true;
    }
    let conn = resolve(sf.conn);
    if (conn) conn.lastFrame = frame.frame;
    const sender = (): 'client' | 'server' | 'unknown' => {
      if (sf!.initiatorIsClient === undefined) return 'unknown';
      return forward === sf!.initiatorIsClient ? 'client' : 'server';
    };

    for (const e of options) {
      if (e.kind !== 'option') continue;
      const o = e.option;
      switch (o.subtype) {
        case 'MP_CAPABLE':
          if (!conn) break;
          if (o.senderKey && o.receiverKey) {
            // Third ACK (or ACK with data): sent by the client, echoing the server's key.
            this.setKey(conn, sender() === 'server' ? 'server' : 'client', o.senderKey);
            this.setKey(conn, sender() === 'server' ? 'client' : 'server', o.receiverKey);
            if (!syn) sf.established = true;
          } else if (o.senderKey && syn && ackFlag) {
            this.setKey(conn, 'server', o.senderKey);
          }
          conn.version ??= o.version;
          if (conn.checksums === undefined) conn.checksums = (o.flags & 0x80) !== 0;
          conn = resolve(sf.conn);
          break;
        case 'MP_JOIN':
          if (o.form === 'synack') {
            sf.listenerAddressId = o.addressId;
            sf.listenerBackup = o.backup;
          } else if (o.form === 'ack') {
            sf.joinAckSeen = true;
          }
          break;
        case 'DSS':
          if (o.dataFin && conn) {
            const dsn = o.mapping ? u64ToDecimal(o.mapping.dsn) : undefined;
            const entry = dsn === undefined ? { frame: frame.frame } : { frame: frame.frame, dsn };
            const side = sender();
            if (side === 'server') conn.dataFinServer ??= entry;
            else if (side === 'client') conn.dataFinClient ??= entry;
          }
          // Data-level signalling on a subflow without a captured handshake: it is in use.
          if (!syn && sf.kind === 'unknown') sf.established = true;
          break;
        case 'MP_PRIO':
          if (forward) sf.prioFwd = o.backup;
          else sf.prioRev = o.backup;
          this.event(conn, frame.frame, sender(), o.subtype, `backup=${o.backup ? 1 : 0}${o.addressId === undefined ? '' : ` id=${o.addressId}`}`);
          break;
        case 'ADD_ADDR': {
          const address = formatAddress(o.address);
          const where = o.port === undefined ? address : endpointText(address, o.port, o.address.length === 16 ? 6 : 4);
          this.event(conn, frame.frame, sender(), o.echo ? 'ADD_ADDR echo' : 'ADD_ADDR', `id=${o.addressId} ${where}`);
          break;
        }
        case 'RM_ADDR':
          this.event(conn, frame.frame, sender(), o.subtype, `ids=${o.addressIds.join(',')}`);
          break;
        case 'MP_FAIL':
          this.event(conn, frame.frame, sender(), o.subtype, `dsn=${u64ToDecimal(o.dsn)}`);
          break;
        case 'MP_FASTCLOSE':
          this.event(conn, frame.frame, sender(), o.subtype, `key=${u64ToHex(o.receiverKey)}`);
          break;
        case 'MP_TCPRST':
          this.event(conn, frame.frame, sender(), o.subtype, `reason=${o.reason}${o.flags & MpTcpRstFlag.T ? ' transient' : ''}`);
          break;
        case 'unknown':
          this.event(conn, frame.frame, sender(), `subtype ${o.subtypeValue}`, '');
          break;
      }
    }
  }

  private setTuple(srcKey: string, dstKey: string, sf: Subflow | null): void {
    this.byTuple.set(`${srcKey} ${dstKey}`, sf);
    this.byTuple.set(`${dstKey} ${srcKey}`, sf);
  }

  private newSubflow(
    kind: Subflow['kind'],
    initiator: string,
    listener: string,
    initiatorKey: string,
    frame: number,
    synSeq: number | undefined,
  ): Subflow {
    return {
      kind,
      conn: undefined,
      initiator,
      listener,
      initiatorKey,
      synSeq,
      firstFrame: frame,
      lastFrame: frame,
      packetsFwd: 0,
      packetsRev: 0,
      bytesFwd: 0,
      bytesRev: 0,
      fallback: false,
      established: false,
      joinAckSeen: false,
      finFwd: false,
      finRev: false,
      reset: false,
      initiatorIsClient: undefined,
    };
  }

  private newConnection(frame: number): Connection {
    const conn: Connection = { id: 0, firstFrame: frame, lastFrame: frame, subflows: [], options: {}, events: [] };
    this.connections.push(conn);
    return conn;
  }

  private placeholder(token: number, frame: number): Connection {
    let conn = this.placeholders.get(token);
    if (!conn) {
      conn = this.newConnection(frame);
      conn.placeholderToken = token;
      this.placeholders.set(token, conn);
    }
    return conn;
  }

  private attach(conn: Connection, sf: Subflow): void {
    sf.conn = conn;
    conn.subflows.push(sf);
  }

  /** Whether a join SYN carrying `token` was sent by the client (it carries the server's token). */
  private sideOfToken(conn: Connection, token: number): boolean | undefined {
    if (conn.serverToken === token) return true;
    if (conn.clientToken === token) return false;
    return undefined;
  }

  private setKey(conn: Connection, side: 'client' | 'server', key: U64): void {
    const existing = side === 'client' ? conn.clientKey : conn.serverKey;
    if (existing) return;
    const { token } = keyTokenAndIdsn(key);
    if (side === 'client') {
      conn.clientKey = key;
      conn.clientToken = token;
    } else {
      conn.serverKey = key;
      conn.serverToken = token;
    }
    if (!this.byToken.has(token)) this.byToken.set(token, conn);
    // Joins that arrived before this token was known.
    const waiting = this.placeholders.get(token);
    if (waiting && waiting !== conn) {
      this.placeholders.delete(token);
      waiting.mergedInto = conn;
      for (const sf of waiting.subflows) {
        sf.conn = conn;
        sf.initiatorIsClient = this.sideOfToken(conn, token);
        conn.subflows.push(sf);
      }
      for (const [name, count] of Object.entries(waiting.options)) conn.options[name] = (conn.options[name] ?? 0) + count;
      for (const ev of waiting.events) if (conn.events.length < MAX_EVENTS) conn.events.push(ev);
      conn.firstFrame = Math.min(conn.firstFrame, waiting.firstFrame);
      conn.lastFrame = Math.max(conn.lastFrame, waiting.lastFrame);
    }
  }

  private event(conn: Connection | undefined, frame: number, from: SignalEvent['from'], option: string, detail: string): void {
    if (!conn) return;
    conn.options[option] = (conn.options[option] ?? 0) + 1;
    if (conn.events.length < MAX_EVENTS) conn.events.push({ frame, from, option, detail });
  }

  /** Builds the report: connections in order of their first frame, numbered from 1. */
  finish(): SummaryReport {
    const live = this.connections.filter((c) => c.mergedInto === undefined && c.subflows.length > 0);
    live.sort((a, b) => a.firstFrame - b.firstFrame);
    const connections = live.map((c, i) => this.connectionReport(c, i + 1));
    return { frames: this.frames, connections, plainTcpConnections: this.plainTcp, unattachedSubflows: this.unattached };
  }

  private connectionReport(c: Connection, id: number): ConnectionReport {
    c.id = id;
    let clientToServer = 0;
    let serverToClient = 0;
    const subflows = [...c.subflows].sort((a, b) => a.firstFrame - b.firstFrame).map((sf): SubflowReport => {
      if (sf.initiatorIsClient === false) {
        clientToServer += sf.bytesRev;
        serverToClient += sf.bytesFwd;
      } else {
        clientToServer += sf.bytesFwd;
        serverToClient += sf.bytesRev;
      }
      const out: Record<string, unknown> = {
        kind: sf.kind,
        initiatedBy: sf.initiatorIsClient === undefined ? 'unknown' : sf.initiatorIsClient ? 'client' : 'server',
        initiator: sf.initiator,
        listener: sf.listener,
      };
      if (sf.initiatorAddressId !== undefined) out['initiatorAddressId'] = sf.initiatorAddressId;
      if (sf.listenerAddressId !== undefined) out['listenerAddressId'] = sf.listenerAddressId;
      if (sf.initiatorBackup !== undefined) out['initiatorBackup'] = sf.initiatorBackup;
      if (sf.listenerBackup !== undefined) out['listenerBackup'] = sf.listenerBackup;
      if (sf.token !== undefined) out['token'] = sf.token;
      out['firstFrame'] = sf.firstFrame;
      out['lastFrame'] = sf.lastFrame;
      out['packets'] = { fromInitiator: sf.packetsFwd, fromListener: sf.packetsRev };
      out['bytes'] = { fromInitiator: sf.bytesFwd, fromListener: sf.bytesRev };
      if (sf.fallback) out['fallback'] = true;
      out['established'] = sf.established;
      out['fin'] = { fromInitiator: sf.finFwd, fromListener: sf.finRev };
      out['reset'] = sf.reset;
      if (sf.prioFwd !== undefined || sf.prioRev !== undefined) {
        const prio: Record<string, boolean> = {};
        if (sf.prioFwd !== undefined) prio['fromInitiator'] = sf.prioFwd;
        if (sf.prioRev !== undefined) prio['fromListener'] = sf.prioRev;
        out['prio'] = prio;
      }
      return out as unknown as SubflowReport;
    });
    const report: Record<string, unknown> = { connection: id };
    if (c.client !== undefined) report['client'] = c.client;
    if (c.server !== undefined) report['server'] = c.server;
    if (c.version !== undefined) report['version'] = c.version;
    if (c.checksums !== undefined) report['checksums'] = c.checksums;
    if (c.clientKey) report['clientKey'] = keyInfo(c.clientKey);
    if (c.serverKey) report['serverKey'] = keyInfo(c.serverKey);
    if (c.placeholderToken !== undefined) report['tokens'] = [c.placeholderToken];
    report['firstFrame'] = c.firstFrame;
    report['lastFrame'] = c.lastFrame;
    report['subflows'] = subflows;
    report['bytes'] = { clientToServer, serverToClient };
    report['options'] = { ...c.options };
    report['events'] = c.events;
    const dataFin: Record<string, unknown> = {};
    if (c.dataFinClient) dataFin['client'] = c.dataFinClient;
    if (c.dataFinServer) dataFin['server'] = c.dataFinServer;
    report['dataFin'] = dataFin;
    report['fallback'] = c.subflows.some((sf) => sf.kind === 'initial' && sf.fallback);
    return report as unknown as ConnectionReport;
  }
}

/** The summary of a whole capture's frames (`readFrames(bytes).frames`), in one call. */
export function summarizeFrames(frames: Iterable<DecodedFrame>): SummaryReport {
  const summary = new MptcpSummary();
  for (const frame of frames) summary.add(frame);
  return summary.finish();
}

function resolve(conn: Connection | undefined): Connection | undefined {
  while (conn?.mergedInto) conn = conn.mergedInto;
  return conn;
}

function keyInfo(key: U64): KeyInfo {
  const d = keyTokenAndIdsn(key);
  return { key: u64ToHex(key), token: d.token, idsn: u64ToDecimal(d.idsn) };
}

/** "addr:port" ("[v6]:port"), as the summary's subflows name their ends. */
export function endpointText(address: string, port: number, ipVersion: 4 | 6): string {
  return ipVersion === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
