import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian package that ships each peer binary the integration tests use. */
const PEER_PACKAGES: Readonly<Record<string, string>> = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  umoci: 'umoci',
  debootstrap: 'debootstrap',
  busybox: 'busybox-static',
  pigz: 'pigz',
  zstd: 'zstd',
  gpg: 'gnupg',
  openssl: 'openssl',
  htpasswd: 'apache2-utils',
  curl: 'curl',
  wget: 'wget',
  python3: 'python3',
  hyperfine: 'hyperfine',
  bwrap: 'bubblewrap',
  flock: 'util-linux',
};

/** sbin directories are searched too: debootstrap lives in /usr/sbin, often not on a user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * Return the absolute path of peer binary `name`, or throw an Error naming the command that installs
 * it. Integration tests call this instead of skipping: a missing peer is a broken test machine,
 * not a reason to pass.
 */
export function requirePeer(name: string): string {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  const pkg = PEER_PACKAGES[name];
  const hint =
    pkg === undefined
      ? 'run: bash scripts/install-peers.sh'
      : `run: bash scripts/install-peers.sh (or: apt-get install -y --no-install-recommends ${pkg})`;
  throw new Error(`peer '${name}' not found on PATH: integration tests need it; ${hint}`);
}
