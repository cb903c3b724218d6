/**
 * The three undici modules undici-agent.ts loads directly (undici 7 has no `exports` map, so these
 * paths are importable). Types come from undici's own declarations.
 */
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';
  const AgentClass: typeof Agent;
  export = AgentClass;
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  const DispatcherClass: { readonly prototype: object };
  export = DispatcherClass;
}
declare module 'undici/lib/api/index.js' {
  const api: Readonly<Record<string, unknown>>;
  export = api;
}
