/**
 * Input and output names of an exported decoder, in the Hugging Face Optimum decoder
 * layout. Its own module so the ONNX backend can name tensors without importing the exporter
 * (and its protobuf writer) into the worker.
 */
export const OnnxNames = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  logits: 'logits',
  pastKey: (l: number) => `past_key_values.${l}.key`,
  pastValue: (l: number) => `past_key_values.${l}.value`,
  presentKey: (l: number) => `present.${l}.key`,
  presentValue: (l: number) => `present.${l}.value`,
} as const;
