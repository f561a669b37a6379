/**
 * `--pcap FILE`: a capture file written as the run goes. Records (src/capture/writer.ts: LINKTYPE_RAW, cut at
 * the snap length) collect in a 64 KiB buffer that is written out when full and every 200 ms (a timer that
 * does not hold the process), so the file can be followed with `tshark -r` or `tail -c` during a long run
 * and holds everything up to the last flush if the process is killed. `close()` writes the rest.
 *
 * Use: `const file = CaptureFile.open(path)`; hand `file` (a `PacketRecordSink`) to whatever sees the
 * packets (src/api/capture.ts: `captureRuntime`, `captureNetwork`; an emulator tap); `file.close()` at the
 * end. Opening failures are `CaptureFileError`s with a one-line message naming the file.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { CaptureWriter, type CaptureWriterOptions } from '../capture/writer.js';

/** The file could not be opened or written. */
export class CaptureFileError extends Error {}

const BUFFER_BYTES = 64 * 1024;
const FLUSH_INTERVAL_MS = 200;

/** A pcap file being written (see the file comment). */
export class CaptureFile {
  private readonly writer: CaptureWriter;
  private buffer = new Uint8Array(BUFFER_BYTES);
  private used = 0;
  private fd: number | undefined;
  private readonly timer: NodeJS.Timeout;
  private failure: string | undefined;

  private constructor(
    /** The file's path, as given. */
    readonly path: string,
    fd: number,
    options: CaptureWriterOptions,
  ) {
    this.fd = fd;
    this.writer = new CaptureWriter((chunk) => this.append(chunk), options);
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Creates (or truncates) `path` and writes the pcap header; throws `CaptureFileError`. */
  static open(path: string, options: CaptureWriterOptions = {}): CaptureFile {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (err) {
      throw new CaptureFileError(`cannot create capture file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const file = new CaptureFile(path, fd, options);
    file.flush();
    return file;
  }

  /** Packets recorded so far. */
  get packets(): number {
    return this.writer.packets;
  }

  /** Bytes of the file so far (written or buffered). */
  get bytes(): number {
    return this.writer.bytes;
  }

  /** Why writing stopped (disk full, ...), if it did: packets after that are not recorded. */
  get error(): string | undefined {
    return this.failure;
  }

  /** Records a packet (`PacketRecordSink`). */
  writePacket(timestampMicros: number, packet: Uint8Array): void {
    if (this.fd === undefined) return;
    this.writer.writePacket(timestampMicros, packet);
  }

  /** Writes what is buffered to the file. */
  flush(): void {
    if (this.fd === undefined || this.used === 0) return;
    try {
      let done = 0;
      while (done < this.used) done += writeSync(this.fd, this.buffer, done, this.used - done);
    } catch (err) {
      this.failure = `cannot write capture file ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
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

  private append(chunk: Uint8Array): void {
    if (this.used + chunk.length > this.buffer.length) {
      this.flush();
      if (chunk.length > this.buffer.length) this.buffer = new Uint8Array(chunk.length);
    }
    this.buffer.set(chunk, this.used);
    this.used += chunk.length;
  }
}
