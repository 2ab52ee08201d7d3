/** A small ONNX graph builder over the generated protobuf classes of `onnx-proto` (ONNX's own onnx.proto). */
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type NodeProto = InstanceType<typeof onnx.NodeProto>;
type AttrValue = number | number[] | { float: number };

const FLOAT = onnx.TensorProto.DataType.FLOAT;

export class OnnxGraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private counter = 0;
  private readonly used = new Set<string>();

  /** A fresh value name derived from `base`. */
  fresh(base: string): string {
    let name = base.replace(/[^A-Za-z0-9_./:-]/g, '_');
    while (this.used.has(name)) name = `${base}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** A float32 initializer (weights, scalars). */
  constant(base: string, data: Float32Array | number[], dims: number[]): string {
    const name = this.fresh(base);
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    const raw = new Uint8Array(f.byteLength);
    raw.set(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: raw }));
    return name;
  }

  /** An int64 initializer (shapes, axes, slice bounds). */
  int64(base: string, values: number[]): string {
    const name = this.fresh(base);
    const raw = new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer);
    this.initializers.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw }));
    return name;
  }

  /** Adds a node; integers and integer lists become INT/INTS attributes, `{ float }` a FLOAT one. Returns its output. */
  node(op: string, inputs: string[], base: string, attrs: Record<string, AttrValue> = {}, output?: string): string {
    const out = output ?? this.fresh(base);
    if (output) this.used.add(output);
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
      if (typeof v === 'object') return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v.float });
      return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });
    });
    this.nodes.push(onnx.NodeProto.create({ opType: op, input: inputs, output: [out], name: this.fresh(`${base}/${op}`), attribute }));
    return out;
  }

  /** Serialises a model: one float32 input and the given float32 outputs, `dims` with a symbolic batch (-1 -> 'N'). */
  encode(opts: { opset: number; producer: string; graphName: string; input: { name: string; dims: number[] }; outputs: { name: string; dims: number[] }[]; docString?: string; metadata?: Record<string, string> }): Uint8Array {
    const valueInfo = (name: string, dims: number[]) =>
      onnx.ValueInfoProto.create({
        name,
        type: onnx.TypeProto.create({
          tensorType: onnx.TypeProto.Tensor.create({
            elemType: FLOAT,
            shape: onnx.TensorShapeProto.create({ dim: dims.map((d) => onnx.TensorShapeProto.Dimension.create(d < 0 ? { dimParam: 'N' } : { dimValue: d })) }),
          }),
        }),
      });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: opts.opset })],
      producerName: opts.producer,
      docString: opts.docString ?? '',
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
      graph: onnx.GraphProto.create({
        name: opts.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo(opts.input.name, opts.input.dims)],
        output: opts.outputs.map((o) => valueInfo(o.name, o.dims)),
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
