/**
 * Loads Mahimahi trace files from disk. Kept apart from `trace.ts` and `link.ts` so the emulator core never
 * touches the file system; tests and the CLI call this and hand the parsed trace to a link.
 */
import { readFileSync } from 'node:fs';
import { parseMahimahiTrace, TraceError, type DeliveryTrace } from './trace.js';

/** Reads and parses a Mahimahi trace; throws on a missing file or bad content (a configuration error). */
export function loadMahimahiTrace(path: string, bytesPerOpportunity = 1500): DeliveryTrace {
  const r = parseMahimahiTrace(readFileSync(path, 'utf8'), bytesPerOpportunity);
  if (r instanceof TraceError) throw new Error(`${path}: ${r.toString()}`);
  return r;
}
