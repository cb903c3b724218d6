/**
 * undici's `Agent` with its request API, without the rest of the package.
 *
 * Why: `import 'undici'` loads fetch, WebSocket, EventSource, caches, mocks and proxy agents: 1 MB of code that
 * every customs command paid for at start-up (~0.1 s of the 0.33 s `customs --version`), while customs uses only
 * Agent and `dispatcher.request`. This does exactly what undici's index does for those two
 * (`Object.assign(Dispatcher.prototype, api)`; undici 7 index.js), on the same module instances, so it is
 * harmless when the full package is loaded as well (tests, benches).
 */
import AgentClass from 'undici/lib/dispatcher/agent.js';
import api from 'undici/lib/api/index.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import { setFlagsFromString } from 'node:v8';

Object.assign(DispatcherClass.prototype, api);

// undici's HTTP parser is WebAssembly, compiled when its first connection opens. V8 compiles it with its baseline
// compiler (Liftoff) and then again with TurboFan on a background thread, and a process cannot exit until that job
// ends: it added 30-190 ms to every command that made a request, after the command was done (bench/README.md).
// The parser only reads response heads and small bodies here (blob bodies bypass it: src/registry/bulk-get.ts),
// so the baseline code is plenty. Set here, when undici is first needed, not at start-up: after a flag changes,
// V8 rejects the code caches made without it (src/cli/launcher.ts), so built-ins loaded later compile slower.
setFlagsFromString('--liftoff-only');

/** undici.Agent (pooled keep-alive connections per origin); `agent.request(...)` works as in undici. */
export const Agent = AgentClass;
export type Agent = InstanceType<typeof AgentClass>;
