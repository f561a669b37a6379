/**
 * `--pcap FILE`: a capture file written as the run goes (./buffered-file.ts: a 64 KiB buffer written when
 * full and every 200 ms, so `tshark -r` can follow a long run and a killed process leaves everything up to the
 * last flush). Records are src/capture/writer.ts's: LINKTYPE_RAW, cut at the snap length.
 *
 * Use: `const file = CaptureFile.open(path)`; hand `file` (a `PacketRecordSink`) to whatever sees the
 * packets (src/api/capture.ts: `captureRuntime`, `captureNetwork`; an emulator tap); `file.close()` at the
 * end. Opening failures are `CaptureFileError`s with a one-line message naming the file.
 */
import { CaptureWriter, type CaptureWriterOptions } from '../capture/writer.js';
import { BufferedFile, BufferedFileError } from './buffered-file.js';

/** The file could not be created. */
export { BufferedFileError as CaptureFileError };

/** A pcap file being written (see the file comment). */
export class CaptureFile {
  private readonly writer: CaptureWriter;

  private constructor(private readonly file: BufferedFile, options: CaptureWriterOptions) {
    this.writer = new CaptureWriter((chunk) => file.append(chunk), options);
  }

  /** Creates (or truncates) `path` and writes the pcap header; throws `CaptureFileError`. */
  static open(path: string, options: CaptureWriterOptions = {}): CaptureFile {
    const file = new CaptureFile(BufferedFile.open(path, 'capture file'), options);
    file.flush();
    return file;
  }

  /** The file's path, as given. */
  get path(): string {
    return this.file.path;
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
    return this.file.error;
  }

  /** Records a packet (`PacketRecordSink`). */
  writePacket(timestampMicros: number, packet: Uint8Array): void {
    if (this.file.open) this.writer.writePacket(timestampMicros, packet);
  }

  /** Writes what is buffered to the file. */
  flush(): void {
    this.file.flush();
  }

  /** Writes the rest and closes the file. Idempotent. */
  close(): void {
    this.file.close();
  }
}
