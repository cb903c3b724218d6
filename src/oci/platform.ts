/** Platform strings (`os/arch[/variant]`), the host platform, and matching (containerd platforms semantics). */
import { CustomsError } from '../errors.js';
import type { Platform } from './descriptor.js';

const ARCH_FROM_NODE: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  s390x: 's390x',
  ppc64: 'ppc64le',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** The platform this process runs on, in OCI terms. */
export function hostPlatform(): Platform {
  const architecture = ARCH_FROM_NODE[process.arch] ?? process.arch;
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  return architecture === 'arm64' ? { os, architecture, variant: 'v8' } : { os, architecture };
}

/** Parse `os/arch[/variant]`. Throws USAGE. */
export function parsePlatform(untrusted: string): Platform {
  const parts = untrusted.split('/');
  const ok = parts.length >= 2 && parts.length <= 3 && parts.every((p) => /^[a-z0-9._-]+$/.test(p));
  if (!ok) {
    throw new CustomsError(
      'USAGE',
      `--platform: expected os/arch[/variant] (e.g. linux/arm64/v8), got ${JSON.stringify(untrusted)}`,
    );
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform({ os, architecture, ...(variant === undefined ? {} : { variant }) });
}

/** Normalize aliases the way containerd does: arm64 without variant is v8, aarch64 is arm64, x86_64 is amd64. */
export function normalizePlatform(p: Platform): Platform {
  let { architecture, variant } = p;
  if (architecture === 'aarch64') architecture = 'arm64';
  if (architecture === 'x86_64' || architecture === 'x86-64') architecture = 'amd64';
  if (architecture === 'arm64' && variant === undefined) variant = 'v8';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const { variant: _old, ...rest } = p;
  return { ...rest, architecture, ...(variant === undefined ? {} : { variant }) };
}

/** `os/arch[/variant]` */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant === undefined ? '' : `/${p.variant}`}`;
}

/** True when `candidate` (an index entry's platform) satisfies `wanted`. */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return false;
  if (w.variant === undefined) return true;
  return w.variant === c.variant;
}
