// Server-sent events from the model server, passed to the client as they come, while reading the
// token usage out of them. vLLM sends the usage in a last chunk with `choices: []` only when the
// request set `stream_options.include_usage`; the gateway sets it when the client did not (it needs
// the count for the tokens/s load signal), and then removes that one chunk from what the client
// sees.
//
// Observing only: every upstream chunk is forwarded unchanged the moment it arrives. Stripping:
// complete events are forwarded the moment they arrive; only an event split across TCP reads waits
// for its end (vLLM writes one event per write, so in practice nothing waits).

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

const USAGE = Buffer.from('"usage"');
const EVENT_END = Buffer.from('\n\n');

/** Reads usage from a complete event's text, if it carries a non-null one. */
function usageOf(event: string): { usage: Usage; usageOnly: boolean } | undefined {
  let data = '';
  for (const line of event.split('\n')) {
    if (line.startsWith('data:')) data += line.slice(line.startsWith('data: ') ? 6 : 5);
  }
  if (!data.includes('"usage"')) return undefined;
  try {
    const obj = JSON.parse(data) as { usage?: Usage | null; choices?: unknown[] };
    if (!obj.usage || typeof obj.usage !== 'object') return undefined;
    return { usage: obj.usage, usageOnly: Array.isArray(obj.choices) && obj.choices.length === 0 };
  } catch {
    return undefined;
  }
}

export class SseUsageTap {
  usage: Usage | undefined;
  #tail: Buffer = Buffer.alloc(0);

  /** @param strip remove the usage-only chunk (the client did not ask for it). */
  constructor(private readonly strip: boolean) {}

  /** What to send the client for this upstream chunk (possibly empty). */
  push(chunk: Buffer): Buffer {
    if (!this.strip) {
      this.#observe(chunk);
      return chunk;
    }
    // Fast path: whole events and no usage in them.
    if (this.#tail.length === 0 && chunk.indexOf(USAGE) < 0 && chunk.subarray(-2).equals(EVENT_END)) return chunk;
    const buf = this.#tail.length ? Buffer.concat([this.#tail, chunk]) : chunk;
    const last = buf.lastIndexOf(EVENT_END);
    if (last < 0) {
      this.#tail = buf;
      return Buffer.alloc(0);
    }
    const complete = buf.subarray(0, last + 2);
    this.#tail = Buffer.from(buf.subarray(last + 2));
    if (complete.indexOf(USAGE) < 0) return complete;
    const kept: string[] = [];
    for (const ev of complete.toString('utf8').split('\n\n')) {
      if (ev === '') continue;
      const u = usageOf(ev);
      if (u) this.usage = u.usage;
      if (u?.usageOnly) continue;
      kept.push(`${ev}\n\n`);
    }
    return Buffer.from(kept.join(''));
  }

  /** Whatever is left when the upstream ends (an unterminated last event). */
  end(): Buffer {
    const rest = this.#tail;
    this.#tail = Buffer.alloc(0);
    if (rest.length === 0) return rest;
    const u = usageOf(rest.toString('utf8'));
    if (u) this.usage = u.usage;
    // Observing, the bytes were forwarded already; stripping, they are still ours to send.
    return !this.strip || u?.usageOnly ? Buffer.alloc(0) : rest;
  }

  #observe(chunk: Buffer): void {
    if (this.#tail.length === 0 && chunk.indexOf(USAGE) < 0 && chunk.subarray(-2).equals(EVENT_END)) return;
    // Keep at most the last event's worth of text to find a usage split across reads.
    const buf = Buffer.concat([this.#tail, chunk]);
    const last = buf.lastIndexOf(EVENT_END);
    const complete = last < 0 ? Buffer.alloc(0) : buf.subarray(0, last);
    this.#tail = Buffer.from(last < 0 ? buf : buf.subarray(last + 2)).subarray(-65_536);
    for (const ev of complete.toString('utf8').split('\n\n')) {
      const u = ev.includes('"usage"') ? usageOf(ev) : undefined;
      if (u) this.usage = u.usage;
    }
  }
}
