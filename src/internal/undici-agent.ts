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

Object.assign(DispatcherClass.prototype, api);

/** undici.Agent (pooled keep-alive connections per origin); `agent.request(...)` works as in undici. */
export const Agent = AgentClass;
export type Agent = InstanceType<typeof AgentClass>;
