/**
 * The wire codecs, all in one place (the package's "./wire" export): IPv4/IPv6, TCP and its options, every
 * MPTCP option (RFC 8684 section 3), the Internet and DSS checksums, addresses, 64-bit values as {hi, lo},
 * sequence-number helpers, pcap/pcapng. Pure functions: `parseX(bytes)` returns a representation or a
 * `WireError` (it never throws on input from the network), `emitX(repr, buf, offset)` writes into a buffer
 * the caller sized with `xLength(repr)`.
 */
export * from './address.js';
export * from './checksum.js';
export * from './dss-checksum.js';
export * from './errors.js';
export * from './ip.js';
export * from './mptcp-option.js';
export * from './pcap.js';
export * from './seq.js';
export * from './tcp.js';
export * from './u64.js';
