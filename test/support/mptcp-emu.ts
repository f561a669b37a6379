/**
 * Shared by the MPTCP emulator tests, under the names they use: the EmuHost that hands MPTCP host events to
 * a callback (src/emu/host-app.ts), the deterministic payload generator and the per-direction transfer
 * bookkeeping (src/emu/stream-flow.ts).
 */
export { MptcpApp as App } from '../../src/emu/host-app.js';
export { pattern, StreamFlow as Side } from '../../src/emu/stream-flow.js';
