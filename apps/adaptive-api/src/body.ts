import type { IncomingMessage } from 'node:http';

/** A request body that is not what the endpoint accepts. */
export class BodyError extends Error {
  override readonly name = 'BodyError';
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a JSON request body of at most `limitBytes`; koa brings no body parser of its own. */
export async function readJson(req: IncomingMessage, limitBytes = 64 * 1024): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new BodyError(415, 'Send a JSON body with Content-Type: application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw new BodyError(413, `The body is larger than ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new BodyError(413, `The body is larger than ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new BodyError(400, 'The body is not valid JSON');
  }
}
