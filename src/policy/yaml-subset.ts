/**
 * A strict parser for the YAML subset registries.d files use: nested block mappings whose leaves are scalars.
 * Everything else — sequences, flow collections (`{` `[`), anchors and aliases (`&` `*`, the billion-laughs
 * vector), tags (`!`), block scalars (`|` `>`), multi-document streams, tabs in indentation, duplicate keys —
 * is refused rather than half-understood. Plain scalars stay strings except `true`/`false`; quoted scalars
 * are always strings. The caller decides what the keys mean.
 */

/** A parsed mapping: scalars are strings or booleans. */
export interface YamlMap {
  readonly [key: string]: YamlValue;
}
export type YamlValue = string | boolean | YamlMap;

/** Thrown with a 1-based line number; the caller wraps it in its own error. */
export class YamlSubsetError extends Error {
  constructor(
    readonly line: number,
    what: string,
  ) {
    super(`line ${line}: ${what}`);
    this.name = 'YamlSubsetError';
  }
}

/** Nesting deeper than registries.d ever needs (default-docker / docker → scope → key). */
const MAX_DEPTH = 8;

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly key: string;
  /** undefined: the key opens a nested mapping. */
  readonly value: string | boolean | undefined;
}

function stripComment(s: string, no: number): string {
  // A '#' starts a comment at the line start or after whitespace, outside quotes.
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote !== undefined) {
      if (c === quote) {
        if (quote === "'" && s[i + 1] === "'") i++;
        else quote = undefined;
      } else if (c === '\\' && quote === '"') {
        i++;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || s[i - 1] === ' ')) {
      return s.slice(0, i).trimEnd();
    }
  }
  if (quote !== undefined) throw new YamlSubsetError(no, 'unterminated quoted string');
  return s.trimEnd();
}

function unquote(s: string, no: number): { text: string; quoted: boolean } {
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new YamlSubsetError(no, 'unterminated single-quoted string');
    const inner = s.slice(1, -1);
    if (/'(?!')/.test(inner.replace(/''/g, ''))) throw new YamlSubsetError(no, 'stray quote');
    return { text: inner.replace(/''/g, "'"), quoted: true };
  }
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new YamlSubsetError(no, 'unterminated double-quoted string');
    const inner = s.slice(1, -1);
    let out = '';
    for (let i = 0; i < inner.length; i++) {
      const c = inner[i] ?? '';
      if (c === '"') throw new YamlSubsetError(no, 'stray quote');
      if (c === '\\') {
        const n = inner[i + 1];
        if (n === '"' || n === '\\' || n === '/') out += n;
        else throw new YamlSubsetError(no, 'unsupported escape (only \\" \\\\ \\/)');
        i++;
      } else {
        out += c;
      }
    }
    return { text: out, quoted: true };
  }
  if (/^[&*!|>%@`{[\]},?-]/.test(s) && !/^-[^\s]/.test(s)) {
    throw new YamlSubsetError(no, `unsupported YAML syntax ${JSON.stringify(s.slice(0, 1))}`);
  }
  if (s.includes(': ') || s.endsWith(':')) throw new YamlSubsetError(no, 'unexpected ":" in a plain scalar');
  return { text: s, quoted: false };
}

function splitKey(content: string, no: number): { key: string; rest: string } {
  let keyEnd: number;
  if (content.startsWith('"') || content.startsWith("'")) {
    const q = content[0] as string;
    let i = 1;
    for (; i < content.length; i++) {
      if (content[i] === '\\' && q === '"') i++;
      else if (content[i] === q) {
        if (q === "'" && content[i + 1] === "'") i++;
        else break;
      }
    }
    keyEnd = i + 1;
    if (content[keyEnd] !== ':') throw new YamlSubsetError(no, 'expected ":" after a quoted key');
  } else {
    const m = /:(?: |$)/.exec(content);
    if (m === null) throw new YamlSubsetError(no, 'expected "key: value" or "key:"');
    keyEnd = m.index;
  }
  const rawKey = content.slice(0, keyEnd);
  const key = unquote(rawKey, no).text;
  if (key === '') throw new YamlSubsetError(no, 'empty key');
  return { key, rest: content.slice(keyEnd + 1).trim() };
}

function lex(text: string): Line[] {
  const out: Line[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const no = i + 1;
    if (/^\s*$/.test(raw) || /^\s*#/.test(raw)) return;
    if (raw === '---' && out.length === 0) return;
    if (raw.startsWith('---') || raw.startsWith('...'))
      throw new YamlSubsetError(no, 'multiple documents are not supported');
    const indentMatch = /^( *)/.exec(raw);
    const indent = indentMatch?.[1]?.length ?? 0;
    if (raw[indent] === '\t') throw new YamlSubsetError(no, 'tab in indentation');
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(raw)) throw new YamlSubsetError(no, 'control character');
    const content = stripComment(raw.slice(indent), no);
    if (content.startsWith('- ') || content === '-') throw new YamlSubsetError(no, 'sequences are not supported');
    const { key, rest } = splitKey(content, no);
    if (rest === '') {
      out.push({ no, indent, key, value: undefined });
      return;
    }
    const { text: v, quoted } = unquote(rest, no);
    out.push({ no, indent, key, value: !quoted && (v === 'true' || v === 'false') ? v === 'true' : v });
  });
  return out;
}

/** Parse `text` as a mapping in the subset. Throws YamlSubsetError naming the line. An empty file is `{}`. */
export function parseYamlSubset(text: string): YamlMap {
  const lines = lex(text);
  let pos = 0;
  const block = (indent: number, depth: number): YamlMap => {
    if (depth > MAX_DEPTH) throw new YamlSubsetError(lines[pos]?.no ?? 0, 'nesting too deep');
    const map: Record<string, YamlValue> = Object.create(null) as Record<string, YamlValue>;
    while (pos < lines.length) {
      const line = lines[pos] as Line;
      if (line.indent < indent) break;
      if (line.indent > indent) throw new YamlSubsetError(line.no, 'unexpected indentation');
      if (Object.prototype.hasOwnProperty.call(map, line.key)) {
        throw new YamlSubsetError(line.no, `duplicate key ${JSON.stringify(line.key)}`);
      }
      pos++;
      if (line.value !== undefined) {
        map[line.key] = line.value;
        continue;
      }
      const next = lines[pos];
      if (next === undefined || next.indent <= indent) {
        // `key:` with nothing under it is null in YAML; refuse rather than guess.
        throw new YamlSubsetError(line.no, `key ${JSON.stringify(line.key)} has no value`);
      }
      map[line.key] = block(next.indent, depth + 1);
    }
    return map;
  };
  if (lines.length === 0) return {};
  const first = lines[0] as Line;
  if (first.indent !== 0) throw new YamlSubsetError(first.no, 'unexpected indentation');
  const result = block(0, 0);
  if (pos !== lines.length) throw new YamlSubsetError(lines[pos]?.no ?? 0, 'unexpected indentation');
  return result;
}
