/** Shared by the tests that read the kernel fixtures and compare with tshark. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where the captured Linux MPTCP pcaps live (see fixtures/kernel/README.md). */
export const KERNEL_FIXTURES = 'fixtures/kernel';

/** Whether tshark can be run; tests that need it skip with `TSHARK_SKIP_REASON` otherwise. */
export const haveTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
export const TSHARK_SKIP_REASON = 'tshark is not installed (apt-get install tshark; CI installs it)';

/** The fixture capture files, sorted; empty if the directory is missing. */
export function kernelFixtureFiles(): string[] {
  if (!existsSync(KERNEL_FIXTURES)) return [];
  return readdirSync(KERNEL_FIXTURES)
    .filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng'))
    .sort()
    .map((f) => join(KERNEL_FIXTURES, f));
}
