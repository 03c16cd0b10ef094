#!/usr/bin/env node
// Published builds run the compiled CLI; inside the workspace, `pnpm edgelm` runs the TypeScript source.
import '../dist/cli/main.js';
