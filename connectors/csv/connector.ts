/**
 * The CSV connector: file drops in, confirmation files out (DESIGN §5, the lowest common denominator of legacy billing).
 *
 * - `pull` reads every matching file of `inbound` in name order, streaming, and yields records with their file and the
 *   physical line they start on (the header is line 1). A row that cannot be a record (wrong field count, broken
 *   quoting) is yielded with `error` set, and the file goes on.
 * - `writeBack` writes one confirmation file per idempotency key into `outbound`, atomically and exactly once.
 * - `check` looks at both directories without changing anything.
 */
import { randomUUID } from 'node:crypto';
import { constants, createReadStream, type Dirent } from 'node:fs';
import { access, link, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Parser, parse } from 'csv-parse';
import type { WriteBackCommand, WriteBackResult } from '../../src/domain/write-back';
import type {
  HealthCheck,
  HealthReport,
  PullOptions,
  RawBatch,
  RawRecord,
  SourceConnector,
  WriteBackContext,
} from '../../src/sync/connector';
import { type CsvConnectorConfig, parseCsvConnectorConfig } from './config';
import { parseErrorReason, toCsvError } from './errors';
import {
  type CsvCheckpoint,
  type CsvHeader,
  checkHeader,
  countLineBreaks,
  decodeCheckpoint,
  encodeCheckpoint,
  encodeOutboxFile,
  fileMatcher,
  fromWire,
  isBlankRow,
  lineBreaksInFields,
  outboxFileName,
  toWire,
} from './transformers';

/** A row csv-parse could not read, in the parser's output between the rows it could. */
interface Unreadable {
  error: unknown;
  raw: string | undefined;
}

/** Hard links are not supported here: fall back to rename after an existence check. */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

export class CsvConnector implements SourceConnector {
  readonly kind = 'csv';
  private readonly matches: (name: string) => boolean;

  /** Use {@link createCsvConnector} for options from config; this takes them validated, directories absolute. */
  constructor(readonly config: CsvConnectorConfig) {
    this.matches = fileMatcher(config.pattern);
  }

  async *pull({ since, signal }: PullOptions): AsyncGenerator<RawBatch> {
    signal.throwIfAborted();
    const previous = decodeCheckpoint(since);
    const state: CsvCheckpoint = { v: 1, files: {} };
    let batch: RawRecord[] = [];
    let lastCheckpoint: string | undefined;

    for (const name of await this.inboundFiles()) {
      signal.throwIfAborted();
      const path = join(this.config.inbound, name);
      let sig: string;
      try {
        const st = await stat(path, { bigint: true });
        sig = `${st.size}:${st.mtimeNs}`;
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') continue; // picked up by the source in between
        throw toCsvError(err, 'stat', path);
      }
      if (previous?.files[name] === sig) {
        state.files[name] = sig; // unchanged since a complete read
        continue;
      }
      const resumeAfter = previous?.current?.file === name && previous.current.sig === sig ? previous.current.line : 0;
      for await (const chunk of this.readFile(path, name, signal)) {
        for (const rec of chunk) {
          if (rec.line <= resumeAfter) continue;
          if (batch.length >= this.config.batchSize) {
            lastCheckpoint = encodeCheckpoint(state);
            yield { records: batch, checkpoint: lastCheckpoint };
            signal.throwIfAborted();
            batch = [];
          }
          batch.push(rec);
          state.current = { file: name, sig, line: rec.line };
        }
      }
      state.files[name] = sig;
      delete state.current;
    }
    const checkpoint = encodeCheckpoint(state);
    if (batch.length > 0 || checkpoint !== lastCheckpoint) yield { records: batch, checkpoint };
  }

  private async inboundFiles(): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.config.inbound, { withFileTypes: true });
    } catch (err) {
      throw toCsvError(err, 'read directory', this.config.inbound);
    }
    return entries
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && this.matches(e.name))
      .map((e) => e.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Streams one file's records, one array per chunk read. The parser is driven by hand: each chunk is written (csv-parse
   * parses it synchronously), then everything it produced is read out before the next chunk, so memory stays at one
   * chunk and no promise is made per record. Rows it cannot read are pushed into the same output from `on_skip`, so
   * they keep their place. Line numbers are counted here (empty lines come through as blank rows): csv-parse's own
   * count is off after a quoted CRLF.
   */
  private async *readFile(path: string, file: string, signal: AbortSignal): AsyncGenerator<RawRecord[]> {
    const parser: Parser = parse({
      bom: true,
      delimiter: this.config.delimiter,
      encoding: this.config.encoding,
      relax_column_count: true,
      relax_quotes: true,
      skip_records_with_error: true,
      on_skip: (error, raw) => {
        parser.push({ error, raw } satisfies Unreadable);
        return undefined;
      },
    });
    parser.on('error', () => undefined); // surfaces through the write callback or the iterator below
    const write = (chunk?: Buffer): Promise<void> =>
      new Promise((resolve, reject) => {
        const done = (err?: Error | null) => (err ? reject(err) : resolve());
        if (chunk) parser.write(chunk, done);
        else parser.end(done);
      });

    let header: CsvHeader | undefined;
    let nextLine = 1; // the header is line 1
    let broken = false; // header unusable: reported once, the rest of the file is not read
    const take = (item: string[] | Unreadable, recs: RawRecord[]): void => {
      const line = nextLine;
      if (!Array.isArray(item)) {
        nextLine += 1 + (item.raw === undefined ? 0 : countLineBreaks(item.raw.replace(/(\r\n|\r|\n)$/, '')));
        recs.push({ record: {}, file, line, error: parseErrorReason(item.error) });
        return;
      }
      nextLine += 1 + lineBreaksInFields(item);
      if (isBlankRow(item)) return;
      if (header === undefined) {
        const h = checkHeader(item);
        if ('error' in h) {
          broken = true;
          recs.push({ record: {}, file, line, error: `${h.error}; the file was not read` });
        } else {
          header = h.header;
        }
        return;
      }
      const { record, error } = fromWire(header, item);
      recs.push(error === undefined ? { record, file, line } : { record, file, line, error });
    };
    const drain = (): RawRecord[] => {
      const recs: RawRecord[] = [];
      for (let item = parser.read(); item !== null && !broken; item = parser.read()) take(item, recs);
      return recs;
    };

    const stream = createReadStream(path, { signal, highWaterMark: 256 * 1024 });
    try {
      for await (const chunk of stream) {
        const written = write(chunk as Buffer);
        const recs = drain();
        await written;
        if (recs.length > 0) yield recs;
        if (broken) return;
      }
      const ended = write();
      const recs: RawRecord[] = [];
      for await (const item of parser) {
        if (broken) break;
        take(item, recs);
      }
      await ended;
      if (recs.length > 0) yield recs;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if ((err as { code?: string }).code === 'ENOENT' && header === undefined) return; // taken away in between
      throw toCsvError(err, 'read', path);
    } finally {
      stream.destroy();
      parser.destroy();
    }
  }

  async writeBack(command: WriteBackCommand, ctx: WriteBackContext): Promise<WriteBackResult> {
    const fileName = outboxFileName(ctx.idempotencyKey);
    const target = join(this.config.outbound, fileName);
    const duplicate: WriteBackResult = { status: 'duplicate', sourceReference: fileName };
    if (await exists(target)) return duplicate;

    const content = Buffer.from(
      encodeOutboxFile(toWire(command, ctx.idempotencyKey), this.config.delimiter),
      this.config.encoding,
    );
    // A dot file with another suffix: invisible to the source's importer until it is linked under its real name.
    const tmp = join(this.config.outbound, `.${fileName}.${randomUUID()}.tmp`);
    try {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(content);
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw toCsvError(err, 'write', tmp);
    }

    try {
      // link() fails with EEXIST when the name is taken: of concurrent calls with one key exactly one wins, and an
      // existing confirmation is never replaced (rename would overwrite it).
      await link(tmp, target);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EEXIST') return duplicate;
      if (!code || !NO_LINK.has(code)) throw toCsvError(err, 'link', target, true);
      if (await exists(target)) return duplicate;
      try {
        await rename(tmp, target);
      } catch (e) {
        throw toCsvError(e, 'rename', target, true);
      }
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    await syncDir(this.config.outbound);
    return { status: 'delivered', sourceReference: fileName };
  }

  async check(): Promise<HealthReport> {
    const checks: HealthCheck[] = [];
    try {
      await access(this.config.inbound, constants.R_OK | constants.X_OK);
      const files = await this.inboundFiles();
      checks.push({
        name: 'inbound',
        ok: true,
        detail: `${this.config.inbound}: readable, ${files.length} file(s) matching ${this.config.pattern}`,
      });
    } catch (err) {
      checks.push({ name: 'inbound', ok: false, detail: toCsvError(err, 'read', this.config.inbound).message });
    }
    try {
      const st = await stat(this.config.outbound);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      await access(this.config.outbound, constants.W_OK | constants.X_OK);
      const written = (await readdir(this.config.outbound)).filter((n) => n.startsWith('outbox-')).length;
      checks.push({
        name: 'outbound',
        ok: true,
        detail: `${this.config.outbound}: writable, ${written} confirmation file(s)`,
      });
    } catch (err) {
      checks.push({ name: 'outbound', ok: false, detail: toCsvError(err, 'write', this.config.outbound).message });
    }
    return { ok: checks.every((c) => c.ok), checks };
  }
}

/**
 * Creates a CSV connector from options as a tenant config holds them; relative directories are resolved against
 * `baseDir`.
 * @throws IntegrationError when an option is wrong.
 */
export function createCsvConnector(options: unknown, baseDir = process.cwd()): CsvConnector {
  return new CsvConnector(parseCsvConnectorConfig(options, baseDir));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return false;
    throw toCsvError(err, 'stat', path);
  }
}

/** Makes the new directory entry durable; best effort (not every platform can fsync a directory). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // The file itself is synced; a lost directory entry after a power cut makes the next delivery write it again.
  }
}
