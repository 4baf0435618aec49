// The body of a signed PUT, held to the size the URL was signed for: the content length (if sent)
// must match, the stream is cut off as soon as it is longer, and a short one fails at its end —
// thrown inside the stream, so the store abandons the write rather than completing it. Datasets and
// models both upload through it.
import { invalidArgument } from '../wire/errors.js';

export function exactBody(body: { bytes: AsyncIterable<Buffer>; contentLength?: string | number }, size: number): AsyncGenerator<Buffer> {
  if (body.contentLength !== undefined && Number(body.contentLength) !== size) {
    throw invalidArgument('Content-Length', `must be ${size}, the size the upload URL was issued for`, 'SIZE_MISMATCH');
  }
  return exactly(body.bytes, size);
}

async function* exactly(bytes: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  const chunks = bytes[Symbol.asyncIterator]();
  let got = 0;
  for (;;) {
    const next = await chunks.next().catch((e: unknown) => {
      throw invalidArgument('(body)', `could not be read: ${e instanceof Error ? e.message.slice(0, 200) : String(e)}`, 'BODY_READ');
    });
    if (next.done) break;
    got += next.value.length;
    if (got > size) throw invalidArgument('(body)', `is longer than the ${size} bytes the upload URL was issued for`, 'SIZE_MISMATCH');
    yield next.value;
  }
  if (got !== size) throw invalidArgument('(body)', `has ${got} bytes; the upload URL was issued for ${size}`, 'SIZE_MISMATCH');
}
