/**
 * `--qlog FILE`: the run's qlog (src/capture/qlog.ts: JSON-SEQ records, a header then one per event) written
 * as the run goes (./buffered-file.ts). Opening failures are `BufferedFileError`s naming the file.
 */
import { QlogWriter, type QlogOptions } from '../capture/qlog.js';
import { BufferedFile } from './buffered-file.js';

/** A qlog file being written: `log` takes the events; `close()` at the end. */
export class QlogFile {
  /** Where the events go. */
  readonly log: QlogWriter;

  private constructor(private readonly file: BufferedFile, options: QlogOptions) {
    this.log = new QlogWriter((bytes) => file.append(bytes), options);
  }

  /** Creates (or truncates) `path` and writes the header record. */
  static open(path: string, options: QlogOptions): QlogFile {
    const file = new QlogFile(BufferedFile.open(path, 'qlog file'), options);
    file.file.flush();
    return file;
  }

  /** Why writing stopped, if it did. */
  get error(): string | undefined {
    return this.file.error;
  }

  /** Writes the rest and closes the file. Idempotent. */
  close(): void {
    this.file.close();
  }
}
