/**
 * Bounds the GGUF reader enforces before it allocates anything a file asks for. The defaults
 * are far above any real model (a 400B model has ~2,000 tensors and ~60 metadata keys; the
 * largest vocabularies have ~260k entries) and far below what would exhaust a browser tab.
 */
export interface GgufLimits {
  maxTensors: number;
  maxMetadataEntries: number;
  /** Bytes of one string (keys, tensor names, token texts, chat templates). */
  maxStringBytes: number;
  /** Items of one array. */
  maxArrayLength: number;
  /** Arrays of arrays deeper than this are refused. */
  maxArrayDepth: number;
  /** Total metadata + tensor-info bytes. */
  maxHeaderBytes: number;
  /** Largest `general.alignment`. */
  maxAlignment: number;
}

export const DEFAULT_GGUF_LIMITS: Readonly<GgufLimits> = Object.freeze({
  maxTensors: 65_536,
  maxMetadataEntries: 65_536,
  maxStringBytes: 16 << 20,
  maxArrayLength: 1 << 24,
  maxArrayDepth: 4,
  maxHeaderBytes: 512 << 20,
  maxAlignment: 1 << 16,
});

/** GGML tensors have at most four dimensions. */
export const GGUF_MAX_DIMS = 4;

export const GGUF_DEFAULT_ALIGNMENT = 32;
