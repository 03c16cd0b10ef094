// The engine's dedicated worker: what `createEngine` starts by default, and `@edgelm/sdk/worker`
// for apps that start it themselves and pass it as `createEngine({ worker })`:
//   new Worker(new URL('@edgelm/sdk/worker', import.meta.url), { type: 'module' })
import { exposeEngineHost } from './engine-host.js';

exposeEngineHost();
