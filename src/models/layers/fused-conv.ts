import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export type FusedConvActivation = 'linear' | 'relu' | 'relu6';

export interface FusedConvArgs {
  /** `conv`: a Conv2D kernel [kh, kw, in, out]; `depthwise`: a DepthwiseConv2D kernel [kh, kw, in, multiplier]. */
  kind: 'conv' | 'depthwise';
  /** Kernel shape, as above. */
  kernelShape: [number, number, number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
  dilationRate: [number, number];
  activation: FusedConvActivation;
  name?: string;
}

/**
 * An inference-only convolution with bias and activation in one fused op (tf.fused.conv2d / depthwiseConv2d: one
 * kernel on backends that fuse them). What models/fold-batch-norm.ts turns a convolution + batch norm (+ ReLU) into.
 * Channels-last only.
 */
export class FusedConv extends tfl.layers.Layer {
  static className = 'PlumageFusedConv';
  readonly args: FusedConvArgs;
  private kernel!: tfl.LayerVariable;
  private bias!: tfl.LayerVariable;

  constructor(args: FusedConvArgs) {
    super({ name: args.name });
    this.args = args;
  }

  override build(): void {
    const [, , cin, k] = this.args.kernelShape;
    this.kernel = this.addWeight('kernel', this.args.kernelShape, 'float32', tfl.initializers.zeros());
    this.bias = this.addWeight('bias', [this.args.kind === 'conv' ? k : cin * k], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const [kh, kw, cin, k] = this.args.kernelShape;
    const out = (n: number | null, kk: number, d: number, st: number) => {
      if (n == null) return null;
      const eff = (kk - 1) * d + 1;
      return this.args.padding === 'same' ? Math.ceil(n / st) : Math.ceil((n - eff + 1) / st);
    };
    return [s[0]!, out(s[1]!, kh, this.args.dilationRate[0], this.args.strides[0]), out(s[2]!, kw, this.args.dilationRate[1], this.args.strides[1]), this.args.kind === 'conv' ? k : cin * k];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    const { kind, strides, padding, dilationRate, activation } = this.args;
    const common = { x, strides, pad: padding, dilations: dilationRate, bias: this.bias.read(), activation } as const;
    return kind === 'conv'
      ? tf.fused.conv2d({ ...common, filter: this.kernel.read() as tf.Tensor4D })
      : tf.fused.depthwiseConv2d({ ...common, filter: this.kernel.read() as tf.Tensor4D });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.args as unknown as tf.serialization.ConfigDict) };
  }
}
tf.serialization.registerClass(FusedConv);
