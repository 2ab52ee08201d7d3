#!/usr/bin/env python3
"""PyTorch reference for bench:speed: the same resnet-mini (and MobileNetV2 1.0) as plumage's tfjs models.

Prints one JSON object: images/s for training (forward + backward + Adam step) and inference.
Run with Debian's python3-torch: /usr/bin/python3 bench/pytorch/resnet_mini.py --model resnet-mini
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k, stride, relu):
    layers = [nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, stride, True)
        self.b = conv_bn(cout, cout, 3, 1, False)
        self.proj = conv_bn(cin, cout, 1, stride, False) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = self.b(self.a(x))
        s = self.proj(x) if self.proj is not None else x
        return F.relu(y + s)


class ResNetMini(nn.Module):
    """src/models/resnet.ts buildResNet(resnetConfigs['resnet-mini']): stem 32, stages 32/64/128/256, depth 1 each."""

    def __init__(self, widths=(32, 64, 128, 256), depths=(1, 1, 1, 1), stem=32, num_classes=25, dropout=0.2):
        super().__init__()
        self.stem = conv_bn(3, stem, 3, 1, True)
        blocks = []
        cin = stem
        for w, d in zip(widths, depths):
            for b in range(d):
                blocks.append(BasicBlock(cin, w, 2 if b == 0 else 1))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = x.mean(dim=(2, 3))
        return self.head(self.drop(x))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 1.0 (Sandler et al.), the same layer list as bench/mobilenetv2.ts."""

    def __init__(self, num_classes=1000):
        super().__init__()
        cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        layers = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True)]
        cin = 32
        for t, c, n, s in cfg:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(1280, num_classes)

    def forward(self, x):
        x = self.features(x).mean(dim=(2, 3))
        return self.head(self.drop(x))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--model', default='resnet-mini', choices=['resnet-mini', 'mobilenetv2'])
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--classes', type=int, default=25)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--infer-steps', type=int, default=5)
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--export-onnx', metavar='FILE', help='export the model (eval mode, opset 13) to FILE and exit')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ResNetMini(num_classes=a.classes) if a.model == 'resnet-mini' else MobileNetV2(num_classes=a.classes)
    mf = torch.channels_last if a.channels_last else torch.contiguous_format
    model = model.to(memory_format=mf)
    x = torch.rand(a.batch, 3, a.size, a.size).contiguous(memory_format=mf)
    y = torch.randint(0, a.classes, (a.batch,))
    if a.export_onnx:
        # What a user does to get an ONNX Runtime baseline: torch.onnx.export of the eval-mode model, opset 13.
        model.eval()
        torch.onnx.export(model, x, a.export_onnx, opset_version=13, input_names=['input'], output_names=['logits'])
        print(json.dumps({'model': a.model, 'onnx': a.export_onnx, 'opset': 13, 'torch_version': torch.__version__}))
        return
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    for _ in range(a.warmup):
        train_step()
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _ in range(a.steps):
        train_step()
    train_s = (time.perf_counter() - t0) / a.steps
    train_cpu = (time.process_time() - c0) / a.steps

    model.eval()
    with torch.inference_mode():
        for _ in range(a.warmup):
            model(x)
        t0 = time.perf_counter()
        c0 = time.process_time()
        for _ in range(a.infer_steps):
            model(x)
        infer_s = (time.perf_counter() - t0) / a.infer_steps
        infer_cpu = (time.process_time() - c0) / a.infer_steps

    print(json.dumps({
        'model': a.model, 'batch': a.batch, 'size': a.size, 'threads': torch.get_num_threads(),
        'torch_version': torch.__version__, 'channels_last': a.channels_last,
        'train_step_s': train_s, 'train_images_per_s': a.batch / train_s, 'train_step_cpu_s': train_cpu,
        'infer_step_s': infer_s, 'infer_step_cpu_s': infer_cpu, 'infer_images_per_s': a.batch / infer_s,
        'max_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == '__main__':
    main()
