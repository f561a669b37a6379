/**
 * The seam between one TCP connection and what rides on it (MPTCP, issue 4): the 4-tuple, and the hooks an
 * extension uses to add options to outgoing segments and to see incoming ones.
 *
 * Before changing these hooks read RFC 9293 section 3.1 (40 bytes of options in all) and RFC 8684 section
 * 3.3.1 (a DSS mapping must not be split across segments: `segmentLimit`).
 */
import type { CoupledSubflow } from '../cc/coupled.js';
import { formatAddress } from '../wire/address.js';
import type { TcpOption, TcpSegment } from '../wire/tcp.js';

/** The 4-tuple of a connection, from our point of view. */
export interface TcpEndpoints {
  readonly localAddress: Uint8Array;
  readonly localPort: number;
  readonly remoteAddress: Uint8Array;
  readonly remotePort: number;
}

/** The 4-tuple with text addresses, as `console.log` and `JSON.stringify` show a connection's endpoints. */
export interface TcpEndpointsText {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/**
 * A copy of `e` that prints with text addresses ("198.18.0.1") instead of raw bytes: `toJSON`, Node's
 * inspect hook (console.log, util.inspect) and `toString` ("198.18.0.1:40000 -> 198.18.0.2:5201"), all
 * non-enumerable, so the fields and what compares them are unchanged. One small object per connection.
 */
export function printableEndpoints(e: TcpEndpoints): TcpEndpoints {
  const copy: TcpEndpoints = { localAddress: e.localAddress, localPort: e.localPort, remoteAddress: e.remoteAddress, remotePort: e.remotePort };
  const text = (): TcpEndpointsText => ({ localAddress: formatAddress(e.localAddress), localPort: e.localPort, remoteAddress: formatAddress(e.remoteAddress), remotePort: e.remotePort });
  const where = (address: Uint8Array, port: number): string => (address.length === 16 ? `[${formatAddress(address)}]:${port}` : `${formatAddress(address)}:${port}`);
  Object.defineProperties(copy, {
    toJSON: { value: text },
    toString: { value: () => `${where(e.localAddress, e.localPort)} -> ${where(e.remoteAddress, e.remotePort)}` },
    [Symbol.for('nodejs.util.inspect.custom')]: { value: text },
  });
  return copy;
}

/** Which kind of segment is being built, for `TcpExtension.outgoingOptions`. */
export type TcpSegmentKind = 'syn' | 'synAck' | 'ack' | 'data' | 'rst';

/** What an extension sees of a segment under construction. */
export interface TcpSegmentDraft {
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  /** Payload bytes in the segment (0 for pure ACKs, SYN, RST). */
  readonly payloadLength: number;
  /** The payload itself (data segments only), e.g. for MPTCP's DSS checksum. */
  readonly payload?: Uint8Array;
}

/**
 * The seam for MPTCP (issue 4): a subflow adds options to outgoing segments and sees incoming ones.
 * Every hook is optional.
 */
export interface TcpExtension {
  /** Option bytes to keep free on every data segment (payload is shortened by this much). */
  readonly reservedOptionBytes?: number;
  /** Option bytes to keep free on pure ACKs (fewer SACK blocks are sent); default 0. */
  readonly reservedAckOptionBytes?: number;
  /** Extra options for a segment; must fit in 40 bytes together with ours (and the reservation). */
  outgoingOptions?(kind: TcpSegmentKind, draft: TcpSegmentDraft): readonly TcpOption[] | undefined;
  /**
   * The most payload bytes a new segment starting at relative sequence `position` (1 = the first data
   * byte) may carry: MPTCP's mapping boundary, so that one segment never spans two DSS mappings (Linux
   * never collapses skbs of different mappings). Unbounded when absent.
   */
  segmentLimit?(position: number): number;
  /** Every incoming segment, before the connection processes it. */
  onOptions?(segment: TcpSegment): void;
  /**
   * The subflow's slot in its MPTCP connection's coupled group (src/cc/coupled.ts), handed to the congestion
   * controller when it is created: LIA, OLIA and BALIA see their sibling subflows through it.
   */
  readonly coupling?: CoupledSubflow;
}
