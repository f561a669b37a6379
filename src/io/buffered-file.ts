/**
 * A file written as a run goes: appends collect in a 64 KiB buffer written out when full and every 200 ms
 * (a timer that does not hold the process), so the file can be followed during a long run and holds
 * everything up to the last flush if the process is killed. `close()` writes the rest. A write failure
 * (disk full, ...) stops writing and is kept in `error`; opening failures throw `BufferedFileError`.
 * Used by `--pcap` (./capture-file.ts) and `--qlog` (./qlog-file.ts).
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** The file could not be created. */
export class BufferedFileError extends Error {}

const BUFFER_BYTES = 64 * 1024;
const FLUSH_INTERVAL_MS = 200;

/** See the file comment. */
export class BufferedFile {
  private buffer = new Uint8Array(BUFFER_BYTES);
  private used = 0;
  private fd: number | undefined;
  private readonly timer: NodeJS.Timeout;
  private failure: string | undefined;

  private constructor(
    /** The file's path, as given. */
    readonly path: string,
    /** What the file is, for messages ("capture file", "qlog file"). */
    private readonly what: string,
    fd: number,
  ) {
    this.fd = fd;
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Creates (or truncates) `path`; throws `BufferedFileError` naming it. */
  static open(path: string, what: string): BufferedFile {
    try {
      return new BufferedFile(path, what, openSync(path, 'w'));
    } catch (err) {
      throw new BufferedFileError(`cannot create ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  /** Why writing stopped, if it did. */
  get error(): string | undefined {
    return this.failure;
  }

  /** Whether appends still go to the file. */
  get open(): boolean {
    return this.fd !== undefined;
  }

  /** Appends bytes (copied). */
  append(chunk: Uint8Array): void {
    if (this.fd === undefined) return;
    if (this.used + chunk.length > this.buffer.length) {
      this.flush();
      if (chunk.length > this.buffer.length) this.buffer = new Uint8Array(chunk.length);
    }
    this.buffer.set(chunk, this.used);
    this.used += chunk.length;
  }

  /** Writes what is buffered to the file. */
  flush(): void {
    if (this.fd === undefined || this.used === 0) return;
    try {
      let done = 0;
      while (done < this.used) done += writeSync(this.fd, this.buffer, done, this.used - done);
    } catch (err) {
      this.failure = `cannot write ${this.what} ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      this.stop();
    }
    this.used = 0;
  }

  /** Writes the rest and closes the file. Idempotent. */
  close(): void {
    this.flush();
    this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // nothing more to save
    }
    this.fd = undefined;
  }
}
