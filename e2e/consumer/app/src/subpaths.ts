// Every subpath entry's types load without skipLibCheck (browser lib only; /node aside).
import type * as Backends from '@edgelm/sdk/backends';
import type * as Cache from '@edgelm/sdk/cache';
import type * as EngineParts from '@edgelm/sdk/engine';
import type * as Formats from '@edgelm/sdk/formats';
import type * as Reference from '@edgelm/sdk/reference';
import type * as Remote from '@edgelm/sdk/remote';
import type * as Synth from '@edgelm/sdk/synth';
import type * as TokenizerEntry from '@edgelm/sdk/tokenizer';

export type Entries = [
  typeof Backends,
  typeof Cache,
  typeof EngineParts,
  typeof Formats,
  typeof Reference,
  typeof Remote,
  typeof Synth,
  typeof TokenizerEntry,
];
