/**
 * The unpack engine: verified layer blobs → a root filesystem, decoded in a sandboxed worker (issue 4).
 * The only import surface of src/unpack. The worker entry (worker.ts) is started as a process, never imported.
 */
export { unpackLayers, type LayerBlob, type UnpackOptions } from './unpack-layers.js';
export type { UnpackReport, ReportItem, ReportKind, LayerReport, SandboxReport, SandboxMechanism } from './report.js';
export type { SandboxMode } from './sandbox.js';
export { DEFAULT_LIMITS, type UnpackLimits } from './limits.js';
export {
  BLOCK,
  checkHeader,
  cstring,
  decodeName,
  isZeroBlock,
  parseNumeric,
  parsePax,
  type PaxOverrides,
} from './tar-reader.js';
