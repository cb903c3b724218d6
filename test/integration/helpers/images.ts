import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from './registry.js';
import { CACHE_DIR, SCRIPTS_DIR } from './repo-root.js';
import { runOk } from './run.js';
import { requirePeer } from './peers.js';

/** Steps of scripts/make-images.sh; each pushes the repository of the same name. */
export type ImageStep = 'busybox' | 'debian' | 'multi' | 'synth';

/** Tags each step pushes (see the header of scripts/make-images.sh for what they contain). */
export const STEP_TAGS: Readonly<Record<ImageStep, readonly string[]>> = {
  busybox: ['busybox:latest', 'busybox:latest-v2s2', 'busybox:latest-zstd'],
  debian: ['debian:bookworm', 'debian:bookworm-v2s2'],
  multi: ['multi:latest', 'multi:v2s2'],
  synth: ['synth:big', 'synth:big-v2s2'],
};

/** One row of WORKDIR/images.tsv, as pushed to the registry. */
export interface PushedImage {
  /** `HOST:PORT/REPO:TAG` */
  reference: string;
  /** `REPO:TAG`, e.g. `busybox:latest` */
  name: string;
  repository: string;
  tag: string;
  /** sha256 of the manifest bytes as the registry serves them. */
  digest: string;
  /** The manifest's own `mediaType` field; null when it has none (debian:bookworm, written by umoci). */
  mediaType: string | null;
}

/** Options for {@link pushImages}. */
export interface PushImagesOptions {
  /** Build cache; default `.cache/images` under the repository root (shared across runs). */
  workDir?: string;
  /** Basic-auth credentials (the registry's own are used when a {@link Registry} is passed). */
  creds?: { user: string; pass: string };
  /** Directory holding ca.crt for an HTTPS registry (the registry's own when a {@link Registry} is passed). */
  certDir?: string;
  /** Size of the synth image; 1.0 ≈ 1.06 GB of file data. Default 0.05 (≈ 53 MB) to keep tests quick. */
  synthScale?: number;
  /** Default 15 minutes: a first debian step runs debootstrap (~30 s), synth at scale 1 takes ~25 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_PUSH_TIMEOUT_MS = 15 * 60_000;
const DEFAULT_SYNTH_SCALE = 0.05;
const NO_MEDIA_TYPE = '(no mediaType field)';

/**
 * Build (cached) and push the images of `steps` with scripts/make-images.sh, then return the rows of
 * images.tsv that belong to this registry and these steps. Throws (with the script's output) if the
 * script fails or a tag a step should have pushed is missing from images.tsv.
 * The debian step needs root (debootstrap) and network access to the apt mirror on its first run.
 */
export async function pushImages(
  registry: string | Registry,
  steps: readonly ImageStep[],
  opts: PushImagesOptions = {},
): Promise<PushedImage[]> {
  const host = typeof registry === 'string' ? registry : registry.host;
  const creds = opts.creds ?? (typeof registry === 'string' ? undefined : registry.creds);
  const certDir = opts.certDir ?? (typeof registry === 'string' ? undefined : registry.certDir);
  const workDir = opts.workDir ?? join(CACHE_DIR, 'images');
  requirePeer('skopeo');
  requirePeer('python3');
  if (steps.includes('busybox') || steps.includes('multi') || steps.includes('synth')) requirePeer('pigz');
  if (steps.includes('debian')) {
    requirePeer('debootstrap');
    requirePeer('umoci');
  }
  const env: NodeJS.ProcessEnv = { ...process.env, SYNTH_SCALE: String(opts.synthScale ?? DEFAULT_SYNTH_SCALE) };
  delete env['CREDS'];
  delete env['CERT_DIR'];
  if (creds !== undefined) env['CREDS'] = `${creds.user}:${creds.pass}`;
  if (certDir !== undefined) env['CERT_DIR'] = certDir;
  await runOk('bash', [join(SCRIPTS_DIR, 'make-images.sh'), host, workDir, ...steps], {
    env,
    timeoutMs: opts.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  const rows = parseImagesTsv(await readFile(join(workDir, 'images.tsv'), 'utf8'));
  const wanted = new Set(steps.flatMap((s) => STEP_TAGS[s]));
  const mine = rows.filter((r) => r.reference.startsWith(`${host}/`) && wanted.has(r.name));
  for (const name of wanted) {
    if (!mine.some((r) => r.name === name)) {
      throw new Error(`pushImages: ${host}/${name}: expected a row in ${workDir}/images.tsv, got none`);
    }
  }
  return mine;
}

/** Parse images.tsv (reference, manifest digest, media type; tab-separated). Throws on a malformed row. */
export function parseImagesTsv(text: string): PushedImage[] {
  const rows: PushedImage[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [reference, digest, mediaType, ...rest] = line.split('\t');
    if (reference === undefined || digest === undefined || mediaType === undefined || rest.length > 0) {
      throw new Error(`images.tsv: malformed row: expected 3 tab-separated fields, got ${JSON.stringify(line)}`);
    }
    const slash = reference.indexOf('/');
    const name = reference.slice(slash + 1);
    const colon = name.lastIndexOf(':');
    if (slash < 0 || colon < 0 || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new Error(
        `images.tsv: malformed row: expected HOST/REPO:TAG and a sha256 digest, got ${JSON.stringify(line)}`,
      );
    }
    rows.push({
      reference,
      name,
      repository: name.slice(0, colon),
      tag: name.slice(colon + 1),
      digest,
      mediaType: mediaType === NO_MEDIA_TYPE ? null : mediaType,
    });
  }
  return rows;
}
