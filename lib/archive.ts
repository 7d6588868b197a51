// Reading a chart archive (.tgz) in memory, with the tar package.
import { Parser, ReadEntry } from 'tar';

/** Every regular file of a (gzipped) tar archive, by path. Synchronous: tar's Parser is, for a Buffer. */
export function readTar(buf: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let ended = false;
  const parser = new Parser({
    onReadEntry: (e: ReadEntry) => {
      if (e.type !== 'File' && e.type !== 'OldFile' && e.type !== 'ContiguousFile') {
        e.resume();
        return;
      }
      const chunks: Buffer[] = [];
      const at = e.path.replace(/^\.\//, '');
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => files.set(at, Buffer.concat(chunks)));
    },
  });
  let error: unknown;
  parser.on('error', (err: unknown) => { error = err; });
  parser.on('end', () => { ended = true; });
  parser.end(buf);
  if (error) throw error;
  if (!ended) throw new Error('the archive did not parse synchronously (truncated or not a tar archive?)');
  return files;
}
