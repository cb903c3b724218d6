/** sha256 helpers. customs only ever trusts sha256 (OCI image-spec: sha256 is the one required algorithm). */
import { createHash } from 'node:crypto';

/** `sha256:<hex>` of the given bytes. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Lowercase hex sha256 of the given bytes. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
