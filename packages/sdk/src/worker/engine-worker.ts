// Entry point of the dedicated worker that createEngine starts.
import { exposeEngineHost } from './engine-host.js';

exposeEngineHost();
