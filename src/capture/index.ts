/**
 * Captures as a library (what `mptcp decode` prints, and what reports are drawn from): read a pcap/pcapng
 * capture into decoded frames (./decode.ts), group them into MPTCP connections by token (./summary.ts), and
 * turn either into text or JSON (./format.ts, ./output.ts).
 *
 *   const { frames, error } = readFrames(bytes);
 *   const report = summarizeFrames(frames);   // report.connections[i].subflows, .events, .dataFin, ...
 */
export { decodeFrame, FrameReader, readFrames, type DecodedFrame, type MptcpEntry, type NoteFrame, type TcpFrame } from './decode.js';
export {
  MptcpSummary,
  summarizeFrames,
  type ConnectionReport,
  type KeyInfo,
  type SignalEvent,
  type SubflowReport,
  type SummaryReport,
} from './summary.js';
export { formatSeconds, frameJson, frameText, mptcpEntryJson, mptcpEntryText, summaryText, TCPRST_REASON_NAMES } from './format.js';
export { decodeCapture, type DecodeOptions } from './output.js';
