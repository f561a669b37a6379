/**
 * Time in the whole project: an integer count of microseconds, passed in by the caller (ARCHITECTURE.md,
 * "the core contract"). The sans-IO layers never read a clock; the emulator advances virtual time by jumping
 * to the next event, and the real-time drivers read `process.hrtime.bigint()` once per loop turn.
 */

/** A point in time or a duration, in integer microseconds. */
export type Micros = number;
