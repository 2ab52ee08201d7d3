import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Builder } from 'flatbuffers';
import { mulByQuantizedMultiplier, quantizeMultiplier, roundingDivideByPOT, srdhm } from '../../src/weights/tflite-reference.js';
import { dequantize, parseTflite, TensorType, type TfliteTensor } from '../../src/weights/tflite.js';

/** gemmlowp's SaturatingRoundingDoublingHighMul with 64-bit integers (BigInt), as in the C++ source. */
function srdhmRef(a: number, b: number): number {
  if (a === -2147483648 && b === -2147483648) return 2147483647;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, like C++
}

describe('TFLite integer arithmetic', () => {
  it('SaturatingRoundingDoublingHighMul matches a 64-bit reference', () => {
    let s = 12345;
    const rnd = () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s;
    };
    const cases: [number, number][] = [
      [0, 0],
      [1, 1],
      [-1, 1 << 30],
      [2147483647, 2147483647],
      [-2147483648, 2147483647],
      [-2147483648, -2147483648],
      [123456789, -987654321],
    ];
    for (let i = 0; i < 2000; i++) cases.push([(rnd() - 1073741824) * (i % 3 === 0 ? 1 : 0.001) | 0, rnd() | 0]);
    for (const [a, b] of cases) assert.equal(srdhm(a, b), srdhmRef(a, b), `srdhm(${a}, ${b})`);
  });

  it('RoundingDivideByPOT rounds half away from zero', () => {
    assert.equal(roundingDivideByPOT(5, 1), 3);
    assert.equal(roundingDivideByPOT(-5, 1), -3);
    assert.equal(roundingDivideByPOT(4, 2), 1);
    assert.equal(roundingDivideByPOT(6, 2), 2);
    assert.equal(roundingDivideByPOT(-6, 2), -2);
    assert.equal(roundingDivideByPOT(7, 0), 7);
  });

  it('QuantizeMultiplier reproduces the real multiplier', () => {
    for (const real of [0.5, 0.75, 0.0001234, 0.999999, 1.5, 3.2e-6]) {
      const { m, shift } = quantizeMultiplier(real);
      assert.ok(m >= 2 ** 30 && m < 2 ** 31, `m=${m}`);
      assert.ok(Math.abs((m * 2 ** (shift - 31)) / real - 1) < 1e-9);
      // x * real, rounded
      for (const x of [1000, -1000, 123456, 77]) assert.ok(Math.abs(mulByQuantizedMultiplier(x, m, shift) - x * real) <= 0.5 + 1e-6);
    }
  });
});

describe('TFLite flatbuffer reader and dequantization', () => {
  it('reads a hand-built minimal model', () => {
    // Build: Model{version=3, operator_codes=[{builtin_code=3}], subgraphs=[{tensors=[t0], inputs=[0], outputs=[0], operators=[]}], buffers=[{}, {data}]}
    const b = new Builder(256);
    const name = b.createString('w');
    // Tensor.shape (int32 vector)
    b.startVector(4, 2, 4); // vectors are built back to front
    b.addInt32(2);
    b.addInt32(3);
    const shapeVec = b.endVector();
    // Quantization: scale [0.5], zero_point [10]
    b.startVector(4, 1, 4);
    b.addFloat32(0.5);
    const scaleVec = b.endVector();
    b.startVector(8, 1, 8);
    b.addInt64(10n);
    const zpVec = b.endVector();
    b.startObject(7);
    b.addFieldOffset(2, scaleVec, 0);
    b.addFieldOffset(3, zpVec, 0);
    const quant = b.endObject();
    b.startObject(6);
    b.addFieldOffset(0, shapeVec, 0);
    b.addFieldInt8(1, TensorType.UINT8, 0);
    b.addFieldInt32(2, 1, 0);
    b.addFieldOffset(3, name, 0);
    b.addFieldOffset(4, quant, 0);
    const tensor = b.endObject();
    b.startVector(4, 1, 4);
    b.addOffset(tensor);
    const tensors = b.endVector();
    b.startVector(4, 1, 4);
    b.addInt32(0);
    const io = b.endVector();
    b.startVector(4, 0, 4);
    const ops = b.endVector();
    b.startObject(5);
    b.addFieldOffset(0, tensors, 0);
    b.addFieldOffset(1, io, 0);
    b.addFieldOffset(2, io, 0);
    b.addFieldOffset(3, ops, 0);
    const sg = b.endObject();
    b.startVector(1, 2, 1);
    b.addInt8(20);
    b.addInt8(10);
    const data = b.endVector();
    b.startObject(1);
    const buf0 = b.endObject();
    b.startObject(1);
    b.addFieldOffset(0, data, 0);
    const buf1 = b.endObject();
    b.startVector(4, 2, 4);
    b.addOffset(buf1);
    b.addOffset(buf0);
    const buffers = b.endVector();
    b.startVector(4, 1, 4);
    b.addOffset(sg);
    const sgs = b.endVector();
    b.startObject(5);
    b.addFieldInt32(0, 3, 0);
    b.addFieldOffset(2, sgs, 0);
    b.addFieldOffset(4, buffers, 0);
    const model = b.endObject();
    b.finish(model, 'TFL3');
    const m = parseTflite(b.asUint8Array());
    assert.equal(m.version, 3);
    assert.equal(m.tensors.length, 1);
    const t = m.tensors[0]!;
    assert.equal(t.name, 'w');
    assert.deepEqual(t.shape, [3, 2]);
    assert.equal(t.type, TensorType.UINT8);
    assert.deepEqual(Array.from(t.data!), [10, 20]);
    assert.deepEqual(Array.from(t.quantization!.scale), [0.5]);
    assert.deepEqual(t.quantization!.zeroPoint, [10]);
  });

  it('rejects files that are not TFLite', () => {
    assert.throws(() => parseTflite(new Uint8Array(16)), /identifier/);
  });

  it('dequantizes per-tensor uint8, per-axis int8 and int32 biases', () => {
    const t = (over: Partial<TfliteTensor>): TfliteTensor => ({ index: 0, name: 't', shape: [2, 2], type: TensorType.UINT8, data: null, quantization: null, ...over });
    const u8 = t({ data: new Uint8Array([0, 128, 129, 255]), quantization: { scale: new Float32Array([0.5]), zeroPoint: [128], quantizedDimension: 0 } });
    assert.deepEqual(Array.from(dequantize(u8)), [-64, 0, 0.5, 63.5]);
    const i8 = t({ type: TensorType.INT8, data: new Uint8Array(new Int8Array([-2, 4, 6, -8]).buffer), quantization: { scale: new Float32Array([1, 0.25]), zeroPoint: [0, 0], quantizedDimension: 0 } });
    assert.deepEqual(Array.from(dequantize(i8)), [-2, 4, 1.5, -2]);
    const b32 = t({ shape: [2], type: TensorType.INT32, data: new Uint8Array(new Int32Array([100, -40]).buffer), quantization: { scale: new Float32Array([9]), zeroPoint: [0], quantizedDimension: 0 } });
    const bias = dequantize(b32, new Float32Array([0.01]));
    assert.ok(Math.abs(bias[0]! - 1) < 1e-6 && Math.abs(bias[1]! + 0.4) < 1e-6, Array.from(bias).join(','));
  });
});
