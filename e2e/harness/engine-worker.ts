// The SDK's engine worker, bundled for harness pages: `createEngine({ worker: new Worker('/harness/engine-worker.js', { type: 'module' }), … })`.
import '../../packages/sdk/src/worker/engine-worker.js';
