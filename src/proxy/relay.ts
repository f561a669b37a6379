/**
 * Relaying one proxied connection: bytes both ways between two sockets (a node:net socket of the host and
 * an MptcpSocket of our stack, or two of either), with TCP's semantics carried across:
 *
 * - Half-close both ways: the end of one side's stream (FIN, or MPTCP's DATA_FIN) becomes `end()` on the
 *   other, which sends its FIN after the data; the other direction goes on until it ends too. Both sockets
 *   must be opened with `allowHalfOpen` (MptcpSocket always is).
 * - Reset carried as reset: an error on one side (ECONNRESET from a peer's RST or MP_FASTCLOSE, a timeout)
 *   ends the other side abortively with `resetAndDestroy()`: a RST from node:net, MP_FASTCLOSE from our
 *   stack (RFC 8684 3.5), so the far end sees ECONNRESET too instead of a clean end of stream.
 * - Back-pressure: a chunk is written only while the writer accepts (`write()` returned true); otherwise
 *   the reader is paused until 'drain'. So at most one chunk waits in the writable's buffer, beyond its
 *   highWaterMark, plus the reader's own readable buffer: the memory of a relayed connection is bounded
 *   by both sockets' stream buffers (see `RELAY_MEMORY_NOTE`), and a slow reader at one end closes the TCP
 *   window at the other.
 * - Idle timeout: no byte either way for `idleTimeoutMs` closes both sides (a FIN each, not a reset).
 */
import type { Duplex } from 'node:stream';

/** Where the memory of one relayed connection goes, for the documentation and `--help`. */
export const RELAY_MEMORY_NOTE =
  'per direction at most the reading socket\'s readable buffer (16 KiB, Node\'s default highWaterMark) plus ' +
  'one chunk in the writing socket beyond its 16 KiB writable highWaterMark; under that, our stack holds at most ' +
  'its send buffer (4 MiB) and its reassembly buffer (8 MiB) per MPTCP connection, filled only as data waits ' +
  '(about 70 KiB per idle relayed connection for both proxies together, measured: BENCHMARKS.md), and the ' +
  'kernel its own socket buffers for the node:net side';

/** A socket the relay can reset: node:net's Socket and MptcpSocket both have `resetAndDestroy`. */
export type RelaySocket = Duplex & { resetAndDestroy?: () => unknown };

/** How one relayed connection ended, and what it carried. */
export interface RelayResult {
  /** Bytes read from `a` and written to `b`, and back. */
  readonly bytesAtoB: number;
  readonly bytesBtoA: number;
  /** 'closed': both directions ended cleanly; 'reset': one side failed and the other was reset; 'idle'. */
  readonly outcome: 'closed' | 'reset' | 'idle';
  /** The first error (its code or message) when `outcome` is 'reset'. */
  readonly error?: string;
}

/** Options of `relay`. */
export interface RelayOptions {
  /** Close both sides after this many milliseconds without a byte either way; 0 or undefined: never. */
  readonly idleTimeoutMs?: number;
  /** Bytes already read from `a` (after its proxy handshake) to write to `b` first, and from `b` to `a`. */
  readonly headAtoB?: Uint8Array;
  readonly headBtoA?: Uint8Array;
  /** Called for every chunk (direction, length): live statistics. */
  readonly onBytes?: (direction: 'AtoB' | 'BtoA', bytes: number) => void;
}

/** A live relay: its counters now, and the promise of its end. */
export interface Relay {
  readonly done: Promise<RelayResult>;
  /** Bytes so far, a to b and b to a. */
  bytes(): { readonly aToB: number; readonly bToA: number };
  /** Ends both sides abortively (RST / MP_FASTCLOSE). */
  reset(): void;
}

function reset(socket: RelaySocket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // a net.Socket that never connected cannot reset: destroy below
    }
  }
  socket.destroy();
}

/** Relays `a` and `b` until both have closed. Takes over both sockets (their 'data', 'end', 'error'). */
export function relay(a: RelaySocket, b: RelaySocket, options: RelayOptions = {}): Relay {
  let aToB = 0;
  let bToA = 0;
  let outcome: RelayResult['outcome'] = 'closed';
  let firstError: string | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let resolve!: (r: RelayResult) => void;
  const done = new Promise<RelayResult>((r) => (resolve = r));
  let closedCount = 0;

  const abort = (why: string | undefined): void => {
    if (outcome === 'closed') outcome = 'reset';
    firstError ??= why;
    reset(a);
    reset(b);
  };
  const touch = (): void => {
    idleTimer?.refresh();
  };
  if (options.idleTimeoutMs !== undefined && options.idleTimeoutMs > 0) {
    idleTimer = setTimeout(() => {
      if (outcome === 'closed') outcome = 'idle';
      a.destroy();
      b.destroy();
    }, options.idleTimeoutMs);
    idleTimer.unref();
  }

  const pump = (from: RelaySocket, to: RelaySocket, direction: 'AtoB' | 'BtoA'): void => {
    from.on('data', (chunk: Buffer) => {
      if (direction === 'AtoB') aToB += chunk.length;
      else bToA += chunk.length;
      options.onBytes?.(direction, chunk.length);
      touch();
      if (to.destroyed || to.writableEnded) return;
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!from.destroyed) from.resume();
    });
    from.on('end', () => {
      if (!to.destroyed && !to.writableEnded) to.end();
    });
    from.on('error', (err: NodeJS.ErrnoException) => abort(err.code ?? err.message));
    const onClose = (): void => {
      // A side that closed without its stream ending (destroyed under us) takes the other down hard.
      if (!from.readableEnded && outcome === 'closed') abort('closed before the end of its stream');
      if (++closedCount === 2) {
        if (idleTimer) clearTimeout(idleTimer);
        resolve({ bytesAtoB: aToB, bytesBtoA: bToA, outcome, ...(firstError !== undefined ? { error: firstError } : {}) });
      }
    };
    // The handshake may have seen the end (or the close) already: those events do not come again.
    if (from.closed) queueMicrotask(onClose);
    else from.on('close', onClose);
  };
  pump(a, b, 'AtoB');
  pump(b, a, 'BtoA');
  if (options.headAtoB && options.headAtoB.length > 0) {
    aToB += options.headAtoB.length;
    options.onBytes?.('AtoB', options.headAtoB.length);
    b.write(options.headAtoB);
  }
  if (options.headBtoA && options.headBtoA.length > 0) {
    bToA += options.headBtoA.length;
    options.onBytes?.('BtoA', options.headBtoA.length);
    a.write(options.headBtoA);
  }
  // Each side is closed once both directions are done: a half-closed socket stays open for the other way.
  const finish = (s: RelaySocket): void => {
    if (s.readableEnded && s.writableFinished && !s.destroyed) s.destroy();
  };
  for (const s of [a, b]) {
    s.on('end', () => finish(s));
    s.on('finish', () => finish(s));
  }
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    if (from.readableEnded && !to.destroyed && !to.writableEnded) to.end();
  }
  a.resume();
  b.resume();
  return {
    done,
    bytes: () => ({ aToB, bToA }),
    reset: () => abort('reset by the proxy'),
  };
}
