import {
  type AttributeProto,
  type Dim,
  type GraphProto,
  type NodeProto,
  OnnxAttributeType,
  OnnxDataType,
  type TensorProto,
  type ValueInfoProto,
  valueInfo,
} from './onnx-proto.js';

/** Attribute values as node helpers take them; the proto form is derived from the JS type. */
export type AttrValue = number | string | number[] | { float: number } | { floats: number[] };

function toAttribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'string') return { name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: OnnxAttributeType.INT, i: v };
  if (Array.isArray(v)) return { name, type: OnnxAttributeType.INTS, ints: v };
  if ('float' in v) return { name, type: OnnxAttributeType.FLOAT, f: v.float };
  return { name, type: OnnxAttributeType.FLOATS, floats: v.floats };
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Accumulates nodes and initializers of one ONNX graph. Every op helper returns the name of its
 * output, so graph code reads like the math: `b.op('Mul', [x, b.op('Sigmoid', [x])])`.
 * Constants are deduplicated by value, as exporters usually fold repeated shape tensors.
 */
export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  /** A fresh value name with a readable prefix. */
  name(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, elemType: OnnxDataType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, shape));
    return name;
  }

  output(name: string, elemType: OnnxDataType, shape: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, shape));
  }

  /** Adds a node with one output (named `out`, or generated) and returns that output's name. */
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    out?: string,
    domain = '',
  ): string {
    const output = out ?? this.name(opType.toLowerCase());
    this.node(opType, inputs, [output], attrs, domain);
    return output;
  }

  /** Adds a node with any number of outputs. Empty input names mark omitted optional inputs. */
  node(
    opType: string,
    inputs: string[],
    outputs: string[],
    attrs: Record<string, AttrValue> = {},
    domain = '',
  ): void {
    this.nodes.push({
      name: `${opType}_${this.nodes.length}`,
      opType,
      domain,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
    });
  }

  /** Adds a weight or table; the bytes are referenced, not copied, until the model is encoded. */
  initializer(name: string, dataType: OnnxDataType, dims: number[], data: ArrayBufferView): string {
    this.initializers.push({ name, dataType, dims, rawData: bytesOf(data) });
    return name;
  }

  /** A 1-D int64 constant (shapes, axes, slice bounds). */
  ints(values: number[]): string {
    return this.constant(`i64[${values.join(',')}]`, OnnxDataType.INT64, [values.length], () =>
      BigInt64Array.from(values, BigInt),
    );
  }

  /** A 0-D int64 constant (Range bounds, Gather indices that drop the axis). */
  scalarInt(value: number): string {
    return this.constant(`i64(${value})`, OnnxDataType.INT64, [], () => BigInt64Array.of(BigInt(value)));
  }

  /** A 0-D float32 constant. */
  scalarFloat(value: number): string {
    return this.constant(`f32(${value})`, OnnxDataType.FLOAT, [], () => Float32Array.of(value));
  }

  private constant(key: string, type: OnnxDataType, dims: number[], make: () => ArrayBufferView): string {
    let name = this.constants.get(key);
    if (!name) {
      name = this.name('const');
      this.initializer(name, type, dims, make());
      this.constants.set(key, name);
    }
    return name;
  }

  build(name: string): GraphProto {
    return {
      name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    };
  }
}
