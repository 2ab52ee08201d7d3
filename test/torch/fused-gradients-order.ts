// Child process of fused-gradients.test.ts: selects the torch backend BEFORE importing tfjs-layers (as bench:speed's
// worker does), then prints the kernels one ReLU6 layer's gradient ran.
const { selectBackend } = await import('../../src/runtime/backend.js');
const tf = await import('@tensorflow/tfjs-core');
await selectBackend('torch', () => {});
const torch = await import('@plumage/tfjs-backend-torch');
const tfl = await import('@tensorflow/tfjs-layers');
const layer = tfl.layers.reLU({ maxValue: 6 });
const x = tf.randomNormal([2, 8, 8, 4]);
torch.profile.clear();
tf.grad((t: import('@tensorflow/tfjs-core').Tensor) => tf.sum(layer.apply(t) as import('@tensorflow/tfjs-core').Tensor))(x);
console.log(JSON.stringify([...torch.profile.keys()]));
