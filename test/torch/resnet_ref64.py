"""Float64 reference gradients for test/torch/resnet-f64-parity.test.ts.

Usage: resnet_ref64.py DIR. For every DIR/<case>.json (+ <case>.bin: the float32 weights and input the test wrote) it
interprets the tfjs-layers topology (Conv2D 'same', PlumageBatchNorm, ReLU, Add, GlobalAveragePooling2D, Dense) in
PyTorch float64 and writes DIR/<case>.ref.bin (the gradients of the trainable weights, float64, in the order of
`trainable`) and DIR/<case>.ref.json (the loss)."""
import glob, json, os, sys
import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def forward(layers, W, x, training):
    out = {}
    y = None
    for L in layers:
        cls, cfg, name = L['class_name'], L['config'], L['config']['name']
        ins = [out[n[0]] for n in L['inbound_nodes'][0]] if L['inbound_nodes'] else []
        if cls == 'InputLayer':
            y = x
        elif cls == 'Conv2D':
            assert cfg['padding'] == 'same' and cfg['dilation_rate'] in ([1, 1], 1), cfg
            k = W[name + '/kernel'].permute(3, 2, 0, 1)  # [kh, kw, cin, cout] -> [cout, cin, kh, kw]
            s = cfg['strides'][0]
            kh, h = k.shape[2], ins[0].shape[2]
            tot = max((-(-h // s) - 1) * s + kh - h, 0)  # TF 'same': the extra pixel goes after
            y = F.conv2d(F.pad(ins[0], (tot // 2, tot - tot // 2, tot // 2, tot - tot // 2)), k, stride=s)
            if cfg.get('use_bias'):
                y = y + W[name + '/bias'].view(1, -1, 1, 1)
        elif cls == 'PlumageBatchNorm':
            if training:
                m = ins[0].mean(dim=(0, 2, 3), keepdim=True)
                v = ((ins[0] - m) ** 2).mean(dim=(0, 2, 3), keepdim=True)  # biased, as tf.moments
            else:
                m = W[name + '/moving_mean'].view(1, -1, 1, 1)
                v = W[name + '/moving_variance'].view(1, -1, 1, 1)
            y = (ins[0] - m) / torch.sqrt(v + cfg['epsilon']) * W[name + '/gamma'].view(1, -1, 1, 1) + W[name + '/beta'].view(1, -1, 1, 1)
        elif cls == 'ReLU':
            y = F.relu(ins[0])
        elif cls == 'Add':
            y = ins[0] + ins[1]
        elif cls == 'GlobalAveragePooling2D':
            y = ins[0].mean(dim=(2, 3))
        elif cls == 'Dense':
            y = ins[0] @ W[name + '/kernel'] + W[name + '/bias']
        else:
            raise SystemExit(f'resnet_ref64.py: layer {cls} not supported')
        out[name] = y
    return y


def run(base):
    meta = json.load(open(base + '.json'))
    raw = open(base + '.bin', 'rb').read()
    W = {}
    for e in meta['entries']:
        a = np.frombuffer(raw, dtype=np.float32, count=int(np.prod(e['shape'])), offset=e['offset']).reshape(e['shape'])
        W[e['name']] = torch.tensor(a, dtype=torch.float64, requires_grad=e['name'] in meta['trainable'])
    x = W.pop('input').detach().permute(0, 3, 1, 2)
    logits = forward(meta['topology']['config']['layers'], W, x, meta['training'])
    # tf.losses.softmaxCrossEntropy with one-hot labels (default reduction): the mean over the batch.
    loss = F.cross_entropy(logits, torch.tensor(meta['labels']))
    grads = torch.autograd.grad(loss, [W[n] for n in meta['trainable']], allow_unused=True)
    flat = [(g if g is not None else torch.zeros_like(W[n])).detach().reshape(-1) for n, g in zip(meta['trainable'], grads)]
    np.concatenate([f.numpy() for f in flat]).astype('<f8').tofile(base + '.ref.bin')
    json.dump({'loss': loss.item()}, open(base + '.ref.json', 'w'))


if __name__ == '__main__':
    for path in sorted(glob.glob(os.path.join(sys.argv[1], '*.json'))):
        if not path.endswith('.ref.json'):
            run(path[:-5])
