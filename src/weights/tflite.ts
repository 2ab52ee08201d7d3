/**
 * Minimal TFLite flatbuffer reader: hand-written accessors over the `flatbuffers` runtime for the parts of
 * schema.fbs (TFLite schema v3) needed to rebuild quantized MobileNetV2-style graphs.
 *
 * Field numbers below follow tensorflow/lite/schema/schema.fbs. A table field `n` lives at vtable offset 4 + 2n.
 */
import { ByteBuffer } from 'flatbuffers';

export enum TensorType {
  FLOAT32 = 0,
  FLOAT16 = 1,
  INT32 = 2,
  UINT8 = 3,
  INT64 = 4,
  STRING = 5,
  BOOL = 6,
  INT16 = 7,
  COMPLEX64 = 8,
  INT8 = 9,
}

/** BuiltinOperator codes used by the graphs we import (the rest are reported by number). */
export const BuiltinOp = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  RESHAPE: 22,
  SOFTMAX: 25,
  MEAN: 40,
  SQUEEZE: 43,
  QUANTIZE: 114,
} as const;

export const BUILTIN_OP_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(BuiltinOp).map(([k, v]) => [v, k]),
);

export enum Padding {
  SAME = 0,
  VALID = 1,
}

export enum Activation {
  NONE = 0,
  RELU = 1,
  RELU_N1_TO_1 = 2,
  RELU6 = 3,
}

export interface Quantization {
  scale: Float32Array;
  zeroPoint: number[];
  /** Axis for per-axis (per-channel) quantization; meaningful when scale.length > 1. */
  quantizedDimension: number;
  min?: Float32Array;
  max?: Float32Array;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  type: TensorType;
  /** Raw bytes of the constant data, or null for activations. */
  data: Uint8Array | null;
  quantization: Quantization | null;
}

export interface ConvOptions {
  padding: Padding;
  strideW: number;
  strideH: number;
  dilationW: number;
  dilationH: number;
  activation: Activation;
  /** Depthwise only. */
  depthMultiplier?: number;
}

export interface PoolOptions {
  padding: Padding;
  strideW: number;
  strideH: number;
  filterW: number;
  filterH: number;
  activation: Activation;
}

export interface TfliteOperator {
  index: number;
  opcode: number;
  opName: string;
  inputs: number[];
  outputs: number[];
  conv?: ConvOptions;
  pool?: PoolOptions;
  /** ADD / FULLY_CONNECTED fused activation. */
  activation?: Activation;
  newShape?: number[];
  softmaxBeta?: number;
}

export interface TfliteModel {
  version: number;
  description: string;
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

// ---- low level table helpers --------------------------------------------------------------------------

class Table {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {}

  private off(field: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * field);
  }
  has(field: number): boolean {
    return this.off(field) !== 0;
  }
  int8(field: number, def = 0): number {
    const o = this.off(field);
    return o ? this.bb.readInt8(this.pos + o) : def;
  }
  uint8(field: number, def = 0): number {
    const o = this.off(field);
    return o ? this.bb.readUint8(this.pos + o) : def;
  }
  int32(field: number, def = 0): number {
    const o = this.off(field);
    return o ? this.bb.readInt32(this.pos + o) : def;
  }
  uint32(field: number, def = 0): number {
    const o = this.off(field);
    return o ? this.bb.readUint32(this.pos + o) : def;
  }
  float32(field: number, def = 0): number {
    const o = this.off(field);
    return o ? this.bb.readFloat32(this.pos + o) : def;
  }
  int64(field: number, def = 0n): bigint {
    const o = this.off(field);
    return o ? this.bb.readInt64(this.pos + o) : def;
  }
  string(field: number): string | null {
    const o = this.off(field);
    return o ? (this.bb.__string(this.pos + o) as string) : null;
  }
  table(field: number): Table | null {
    const o = this.off(field);
    return o ? new Table(this.bb, this.bb.__indirect(this.pos + o)) : null;
  }
  /** Vector: returns [start, length] (start of first element) or null. */
  private vec(field: number): [number, number] | null {
    const o = this.off(field);
    if (!o) return null;
    return [this.bb.__vector(this.pos + o), this.bb.__vector_len(this.pos + o)];
  }
  vecLength(field: number): number {
    return this.vec(field)?.[1] ?? 0;
  }
  tables(field: number): Table[] {
    const v = this.vec(field);
    if (!v) return [];
    const out: Table[] = [];
    for (let i = 0; i < v[1]; i++) out.push(new Table(this.bb, this.bb.__indirect(v[0] + 4 * i)));
    return out;
  }
  int32s(field: number): number[] {
    const v = this.vec(field);
    if (!v) return [];
    const out: number[] = [];
    for (let i = 0; i < v[1]; i++) out.push(this.bb.readInt32(v[0] + 4 * i));
    return out;
  }
  int64s(field: number): number[] {
    const v = this.vec(field);
    if (!v) return [];
    const out: number[] = [];
    for (let i = 0; i < v[1]; i++) out.push(Number(this.bb.readInt64(v[0] + 8 * i)));
    return out;
  }
  float32s(field: number): Float32Array | null {
    const v = this.vec(field);
    if (!v) return null;
    const out = new Float32Array(v[1]);
    for (let i = 0; i < v[1]; i++) out[i] = this.bb.readFloat32(v[0] + 4 * i);
    return out;
  }
  bytes(field: number): Uint8Array | null {
    const v = this.vec(field);
    if (!v) return null;
    return this.bb.bytes().subarray(v[0], v[0] + v[1]);
  }
}

// ---- schema accessors -----------------------------------------------------------------------------------

/** Parses a .tflite flatbuffer (first subgraph only). */
export function parseTflite(buf: Uint8Array): TfliteModel {
  if (buf.length < 8) throw new Error('tflite: file too small');
  const ident = String.fromCharCode(buf[4]!, buf[5]!, buf[6]!, buf[7]!);
  if (ident !== 'TFL3') throw new Error(`tflite: bad file identifier '${ident}' (expected TFL3)`);
  const bb = new ByteBuffer(buf);
  const root = new Table(bb, bb.readInt32(bb.position()) + bb.position());

  // Model: 0 version, 1 operator_codes, 2 subgraphs, 3 description, 4 buffers
  const version = root.uint32(0);
  const description = root.string(3) ?? '';
  const opcodes = root.tables(1).map((oc) => {
    // OperatorCode: 0 deprecated_builtin_code (int8), 1 custom_code, 2 version, 3 builtin_code (int32)
    const dep = oc.int8(0);
    const full = oc.int32(3);
    return Math.max(dep, full);
  });
  const buffers = root.tables(4).map((b) => b.bytes(0)); // Buffer: 0 data
  const subgraphs = root.tables(2);
  if (subgraphs.length === 0) throw new Error('tflite: no subgraph');
  const sg = subgraphs[0]!;
  // SubGraph: 0 tensors, 1 inputs, 2 outputs, 3 operators, 4 name
  const tensors: TfliteTensor[] = sg.tables(0).map((t, index) => {
    // Tensor: 0 shape, 1 type, 2 buffer, 3 name, 4 quantization
    const q = t.table(4);
    let quantization: Quantization | null = null;
    if (q) {
      // QuantizationParameters: 0 min, 1 max, 2 scale, 3 zero_point, 4 details_type, 5 details, 6 quantized_dimension
      const scale = q.float32s(2);
      if (scale && scale.length > 0) {
        quantization = {
          scale,
          zeroPoint: q.int64s(3),
          quantizedDimension: q.int32(6),
          min: q.float32s(0) ?? undefined,
          max: q.float32s(1) ?? undefined,
        };
      }
    }
    const bufIdx = t.uint32(2);
    const data = buffers[bufIdx] ?? null;
    return {
      index,
      name: t.string(3) ?? `t${index}`,
      shape: t.int32s(0),
      type: t.int8(1) as TensorType,
      data: data && data.length > 0 ? data : null,
      quantization,
    };
  });
  const operators: TfliteOperator[] = sg.tables(3).map((o, index) => {
    // Operator: 0 opcode_index, 1 inputs, 2 outputs, 3 builtin_options_type, 4 builtin_options
    const opcode = opcodes[o.uint32(0)] ?? -1;
    const op: TfliteOperator = {
      index,
      opcode,
      opName: BUILTIN_OP_NAMES[opcode] ?? `OP_${opcode}`,
      inputs: o.int32s(1),
      outputs: o.int32s(2),
    };
    const opt = o.table(4);
    if (opt) {
      switch (opcode) {
        case BuiltinOp.CONV_2D:
          // Conv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 fused_activation_function, 4 dilation_w, 5 dilation_h
          op.conv = {
            padding: opt.int8(0),
            strideW: opt.int32(1),
            strideH: opt.int32(2),
            activation: opt.int8(3),
            dilationW: opt.int32(4, 1),
            dilationH: opt.int32(5, 1),
          };
          break;
        case BuiltinOp.DEPTHWISE_CONV_2D:
          // DepthwiseConv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 depth_multiplier, 4 fused_act, 5 dil_w, 6 dil_h
          op.conv = {
            padding: opt.int8(0),
            strideW: opt.int32(1),
            strideH: opt.int32(2),
            depthMultiplier: opt.int32(3, 1),
            activation: opt.int8(4),
            dilationW: opt.int32(5, 1),
            dilationH: opt.int32(6, 1),
          };
          break;
        case BuiltinOp.AVERAGE_POOL_2D:
          // Pool2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 filter_width, 4 filter_height, 5 fused_act
          op.pool = {
            padding: opt.int8(0),
            strideW: opt.int32(1),
            strideH: opt.int32(2),
            filterW: opt.int32(3),
            filterH: opt.int32(4),
            activation: opt.int8(5),
          };
          break;
        case BuiltinOp.ADD:
          op.activation = opt.int8(0); // AddOptions: 0 fused_activation_function
          break;
        case BuiltinOp.FULLY_CONNECTED:
          op.activation = opt.int8(0); // FullyConnectedOptions: 0 fused_activation_function
          break;
        case BuiltinOp.RESHAPE:
          op.newShape = opt.int32s(0); // ReshapeOptions: 0 new_shape
          break;
        case BuiltinOp.SOFTMAX:
          op.softmaxBeta = opt.float32(0, 1); // SoftmaxOptions: 0 beta
          break;
        default:
          break;
      }
    } else if (opcode === BuiltinOp.SOFTMAX) {
      op.softmaxBeta = 1;
    }
    return op;
  });
  return { version, description, tensors, operators, inputs: sg.int32s(1), outputs: sg.int32s(2) };
}

// ---- dequantization ------------------------------------------------------------------------------------

/** Number of elements of a shape. */
export function numElements(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Dequantizes a constant tensor to float32: real = scale * (q - zero_point), per tensor or per axis
 * (quantization.quantizedDimension). Supports UINT8, INT8 and INT32 (biases) data, and FLOAT32 passthrough.
 * `scaleOverride` replaces the stored scale (used for int32 biases: input_scale * weight_scale).
 */
export function dequantize(t: TfliteTensor, scaleOverride?: Float32Array): Float32Array {
  if (!t.data) throw new Error(`tflite: tensor '${t.name}' has no constant data`);
  const n = numElements(t.shape);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const raw = new Float64Array(n);
  switch (t.type) {
    case TensorType.UINT8:
      for (let i = 0; i < n; i++) raw[i] = t.data[i]!;
      break;
    case TensorType.INT8:
      for (let i = 0; i < n; i++) raw[i] = dv.getInt8(i);
      break;
    case TensorType.INT32:
      for (let i = 0; i < n; i++) raw[i] = dv.getInt32(4 * i, true);
      break;
    case TensorType.FLOAT32: {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return out;
    }
    default:
      throw new Error(`tflite: cannot dequantize tensor '${t.name}' of type ${TensorType[t.type]}`);
  }
  const q = t.quantization;
  const scale = scaleOverride ?? q?.scale;
  if (!scale) throw new Error(`tflite: tensor '${t.name}' is quantized but has no scale`);
  const zp = q?.zeroPoint ?? [];
  const out = new Float32Array(n);
  if (scale.length <= 1) {
    const s = scale[0]!;
    const z = zp[0] ?? 0;
    for (let i = 0; i < n; i++) out[i] = s * (raw[i]! - z);
    return out;
  }
  // Per-axis: index along quantizedDimension.
  const axis = q?.quantizedDimension ?? 0;
  const dims = t.shape;
  if (dims[axis] !== scale.length) {
    throw new Error(`tflite: tensor '${t.name}' has ${scale.length} scales for axis ${axis} of size ${dims[axis]}`);
  }
  const inner = numElements(dims.slice(axis + 1));
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / inner) % dims[axis]!;
    out[i] = scale[c]! * (raw[i]! - (zp.length > 1 ? zp[c]! : (zp[0] ?? 0)));
  }
  return out;
}
