/**
 * Who owns a lock or a quarantine file: a pid on a host. A file whose owner is a dead process on this host
 * is left over from a crash (`kill -9`, power loss) and may be removed; a file owned by another host (a store
 * on a shared filesystem) is never judged from here.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';

/** Short, filename-safe tag of this host's name (quarantine files carry it next to the pid). */
export const HOST_TAG: string = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** This host's name, as recorded in the lock file. */
export const HOST_NAME: string = hostname();

/**
 * True when process `pid` exists on this host. EPERM means it exists but belongs to another user. Only
 * positive pids are asked about: kill(0) and kill(-n) address process groups, and a planted lock file must
 * not make customs signal anything.
 */
export function isPidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
