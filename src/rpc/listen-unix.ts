/**
 * Listening on a unix socket path with exactly the access asked for: the socket file is
 * created with no access for others (umask 0177), then opened up to `mode`, so no client can
 * connect in between with more rights than intended. Used by tsvirtd's sockets and by
 * tsbhyve's control socket. Does not deal with what was at the path before: callers decide
 * whether a stale socket may be replaced.
 */
import { chmod } from 'node:fs/promises';
import type { Server } from 'node:net';

export async function listenUnixWithMode(server: Server, path: string, mode: number): Promise<void> {
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  await chmod(path, mode);
}
