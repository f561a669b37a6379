/**
 * iperf3's number conventions: sizes with K/M/G/T suffixes (powers of 1024, as iperf3's unit_atoi), and the
 * adaptive unit formatting of its reports (unit_snprintf): transfers in 1024-based Bytes/KBytes/MBytes...,
 * bitrates in 1000-based bits/Kbits/Mbits..., always four significant places ("9.99", "99.9", " 999").
 */

const SIZE_SUFFIX: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses "10", "10K", "1.5M", "2G" (suffix case-insensitive, powers of 1024) into a whole number of bytes;
 * undefined if malformed, negative, or not a safe integer.
 */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?|\.\d+)([kmgtKMGT]?)$/.exec(text.trim());
  if (!m) return undefined;
  const value = Number(m[1]) * (m[2] ? SIZE_SUFFIX[m[2].toLowerCase()]! : 1);
  const bytes = Math.floor(value);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

const BYTE_LABELS = ['Bytes', 'KBytes', 'MBytes', 'GBytes', 'TBytes'] as const;
const BIT_LABELS = ['bits', 'Kbits', 'Mbits', 'Gbits', 'Tbits'] as const;

function fourPlaces(value: number, label: string): string {
  const digits = value < 9.995 ? 2 : value < 99.95 ? 1 : 0;
  return `${value.toFixed(digits).padStart(4)} ${label}`;
}

/** A byte count as iperf3 prints a transfer: " 720 MBytes", "1.46 GBytes", "0.00 Bytes". */
export function formatBytes(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < BYTE_LABELS.length - 1) {
    v /= 1024;
    i++;
  }
  return fourPlaces(v, BYTE_LABELS[i]!);
}

/** A bitrate as iperf3 prints it: "6.03 Gbits/sec". */
export function formatBitrate(bitsPerSecond: number): string {
  let v = bitsPerSecond;
  let i = 0;
  while (v >= 1000 && i < BIT_LABELS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${fourPlaces(v, BIT_LABELS[i]!)}/sec`;
}

/** bits per second for `bytes` over `seconds` (0 when no time elapsed). */
export function bitsPerSecond(bytes: number, seconds: number): number {
  return seconds > 0 ? (bytes * 8) / seconds : 0;
}
