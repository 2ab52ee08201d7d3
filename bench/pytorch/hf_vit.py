#!/usr/bin/env python3
"""Compact PyTorch SwinV2 and BEiT with Hugging Face's module structure and state_dict names (no transformers needed).

Written from the architecture description in ../shared/golden/README.md; `--golden DIR` checks them against the golden
outputs (max |logits - golden| < 1e-4 for every case), so bench:hub compares plumage with the same architecture.

  /usr/bin/python3 bench/pytorch/hf_vit.py --golden ../shared/golden
  /usr/bin/python3 bench/pytorch/hf_vit.py --bench swinv2-base --batch 16 --steps 2 --threads 2
Prints one JSON object.
"""
import argparse
import json
import math
import os
import resource
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------- configs

SWINV2_BASE = dict(model_type='swinv2', image_size=256, patch_size=4, num_channels=3, embed_dim=128, depths=[2, 2, 18, 2],
                   num_heads=[4, 8, 16, 32], window_size=16, pretrained_window_sizes=[0, 0, 0, 0], mlp_ratio=4.0, qkv_bias=True,
                   layer_norm_eps=1e-5, drop_path_rate=0.1, num_labels=1000)
BEIT_BASE = dict(model_type='beit', image_size=224, patch_size=16, num_channels=3, hidden_size=768, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072, layer_norm_eps=1e-12, use_mask_token=False,
                 use_absolute_position_embeddings=False, use_relative_position_bias=True, use_shared_relative_position_bias=False,
                 layer_scale_init_value=0.1, drop_path_rate=0.1, use_mean_pooling=True, num_labels=21841)


def num_labels(cfg):
    return len(cfg['id2label']) if 'id2label' in cfg else cfg.get('num_labels', 2)


class DropPath(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = 1 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class Dense(nn.Module):
    """HF's `intermediate` / `output` containers: a `.dense` Linear (+ GELU for intermediate)."""

    def __init__(self, i, o, act=False):
        super().__init__()
        self.dense = nn.Linear(i, o)
        self.act = act

    def forward(self, x):
        x = self.dense(x)
        return F.gelu(x) if self.act else x


# ----------------------------------------------------------------------------------------------- SwinV2

def window_partition(x, ws):
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def window_reverse(windows, ws, h, w):
    c = windows.shape[-1]
    x = windows.view(-1, h // ws, w // ws, ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, h, w, c)


class Swinv2SelfAttention(nn.Module):
    def __init__(self, dim, heads, ws, pws, qkv_bias):
        super().__init__()
        self.heads, self.ws = heads, ws
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        self.continuous_position_bias_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True), nn.Linear(512, heads, bias=False))
        r = torch.arange(-(ws - 1), ws, dtype=torch.int64).float()
        table = torch.stack(torch.meshgrid([r, r], indexing='ij')).permute(1, 2, 0).contiguous().unsqueeze(0)
        if pws > 0:
            table = table / (pws - 1)
        elif ws > 1:
            table = table / (ws - 1)
        table = table * 8
        table = torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / math.log2(8)
        self.register_buffer('relative_coords_table', table, persistent=False)
        coords = torch.stack(torch.meshgrid([torch.arange(ws), torch.arange(ws)], indexing='ij')).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += ws - 1
        rel[:, :, 1] += ws - 1
        rel[:, :, 0] *= 2 * ws - 1
        self.register_buffer('relative_position_index', rel.sum(-1), persistent=False)
        self.query = nn.Linear(dim, dim, bias=qkv_bias)
        self.key = nn.Linear(dim, dim, bias=False)
        self.value = nn.Linear(dim, dim, bias=qkv_bias)

    def forward(self, x, mask):
        b, n, c = x.shape
        split = lambda t: t.view(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        scores = scores * torch.clamp(self.logit_scale, max=math.log(1.0 / 0.01)).exp()
        table = self.continuous_position_bias_mlp(self.relative_coords_table).view(-1, self.heads)
        bias = table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1).contiguous()
        scores = scores + 16 * torch.sigmoid(bias).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            scores = scores.view(b // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            scores = scores + mask.unsqueeze(1).unsqueeze(0)  # HF adds the mask twice
            scores = scores.view(-1, self.heads, n, n)
        ctx = scores.softmax(-1) @ v
        return ctx.permute(0, 2, 1, 3).reshape(b, n, c)


class Swinv2Attention(nn.Module):
    def __init__(self, dim, heads, ws, pws, qkv_bias):
        super().__init__()
        self.self = Swinv2SelfAttention(dim, heads, ws, pws, qkv_bias)
        self.output = Dense(dim, dim)

    def forward(self, x, mask):
        return self.output(self.self(x, mask))


class Swinv2Layer(nn.Module):
    def __init__(self, cfg, dim, res, heads, shift, pws, dpr):
        super().__init__()
        w = cfg['window_size']
        self.ws = res if res <= w else w
        self.shift = 0 if res <= self.ws else shift
        self.attention = Swinv2Attention(dim, heads, self.ws, pws, cfg['qkv_bias'])
        eps = cfg['layer_norm_eps']
        self.layernorm_before = nn.LayerNorm(dim, eps=eps)
        self.drop_path = DropPath(dpr)
        self.intermediate = Dense(dim, int(cfg['mlp_ratio'] * dim), act=True)
        self.output = Dense(int(cfg['mlp_ratio'] * dim), dim)
        self.layernorm_after = nn.LayerNorm(dim, eps=eps)

    def mask(self, hp, wp, device):
        if self.shift == 0:
            return None
        img = torch.zeros((1, hp, wp, 1), device=device)
        cnt = 0
        sl = (slice(0, -self.ws), slice(-self.ws, -self.shift), slice(-self.shift, None))
        for hs in sl:
            for wsl in sl:
                img[:, hs, wsl, :] = cnt
                cnt += 1
        mw = window_partition(img, self.ws).view(-1, self.ws * self.ws)
        m = mw.unsqueeze(1) - mw.unsqueeze(2)
        return m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0)

    def forward(self, x, h, w):
        b, _, c = x.shape
        shortcut = x
        x = x.view(b, h, w, c)
        pr, pb = (self.ws - w % self.ws) % self.ws, (self.ws - h % self.ws) % self.ws
        x = F.pad(x, (0, 0, 0, pr, 0, pb))
        hp, wp = h + pb, w + pr
        if self.shift > 0:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        win = window_partition(x, self.ws).view(-1, self.ws * self.ws, c)
        att = self.attention(win, self.mask(hp, wp, x.device)).view(-1, self.ws, self.ws, c)
        x = window_reverse(att, self.ws, hp, wp)
        if self.shift > 0:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x[:, :h, :w, :].contiguous().view(b, h * w, c)
        x = shortcut + self.drop_path(self.layernorm_before(x))
        y = self.output(self.intermediate(x))
        return x + self.drop_path(self.layernorm_after(y))


class Swinv2PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim)

    def forward(self, x, h, w):
        b, _, c = x.shape
        x = x.view(b, h, w, c)
        if h % 2 == 1 or w % 2 == 1:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1).view(b, -1, 4 * c)
        return self.norm(self.reduction(x))


class Swinv2Stage(nn.Module):
    def __init__(self, cfg, dim, res, depth, heads, pws, dprs, downsample):
        super().__init__()
        self.blocks = nn.ModuleList([Swinv2Layer(cfg, dim, res, heads, 0 if i % 2 == 0 else cfg['window_size'] // 2, pws, dprs[i]) for i in range(depth)])
        self.downsample = Swinv2PatchMerging(dim) if downsample else None

    def forward(self, x, h, w):
        for blk in self.blocks:
            x = blk(x, h, w)
        if self.downsample is not None:
            x = self.downsample(x, h, w)
            h, w = (h + 1) // 2, (w + 1) // 2
        return x, h, w


class Swinv2Embeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.patch_embeddings = nn.Module()
        self.patch_embeddings.projection = nn.Conv2d(cfg['num_channels'], cfg['embed_dim'], cfg['patch_size'], cfg['patch_size'])
        self.norm = nn.LayerNorm(cfg['embed_dim'])

    def forward(self, px):
        x = self.patch_embeddings.projection(px)
        h, w = x.shape[2:]
        return self.norm(x.flatten(2).transpose(1, 2)), h, w


class Swinv2Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = Swinv2Embeddings(cfg)
        depths = cfg['depths']
        grid = cfg['image_size'] // cfg['patch_size']
        dpr = [float(x) for x in torch.linspace(0, cfg['drop_path_rate'], sum(depths))]
        pws = cfg.get('pretrained_window_sizes') or [0] * len(depths)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList([
            Swinv2Stage(cfg, cfg['embed_dim'] * 2 ** i, grid // 2 ** i, depths[i], cfg['num_heads'][i], pws[i], dpr[sum(depths[:i]):sum(depths[:i + 1])], i < len(depths) - 1)
            for i in range(len(depths))
        ])
        self.num_features = cfg['embed_dim'] * 2 ** (len(depths) - 1)
        self.layernorm = nn.LayerNorm(self.num_features, eps=cfg['layer_norm_eps'])

    def forward(self, px):
        x, h, w = self.embeddings(px)
        for stage in self.encoder.layers:
            x, h, w = stage(x, h, w)
        x = self.layernorm(x)
        return x, x.mean(1)


class Swinv2ForImageClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.swinv2 = Swinv2Model(cfg)
        self.classifier = nn.Linear(self.swinv2.num_features, num_labels(cfg))

    def forward(self, px):
        return self.classifier(self.swinv2(px)[1])


# ----------------------------------------------------------------------------------------------- BEiT

class BeitRelativePositionBias(nn.Module):
    def __init__(self, grid, heads):
        super().__init__()
        self.n = (2 * grid - 1) * (2 * grid - 1) + 3
        self.relative_position_bias_table = nn.Parameter(torch.zeros(self.n, heads))
        coords = torch.stack(torch.meshgrid([torch.arange(grid), torch.arange(grid)], indexing='ij')).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += grid - 1
        rel[:, :, 1] += grid - 1
        rel[:, :, 0] *= 2 * grid - 1
        idx = torch.zeros((grid * grid + 1,) * 2, dtype=rel.dtype)
        idx[1:, 1:] = rel.sum(-1)
        idx[0, 0:] = self.n - 3
        idx[0:, 0] = self.n - 2
        idx[0, 0] = self.n - 1
        self.register_buffer('relative_position_index', idx, persistent=False)

    def forward(self):
        n = self.relative_position_index.shape[0]
        return self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1).contiguous()


class BeitSelfAttention(nn.Module):
    def __init__(self, cfg, grid):
        super().__init__()
        c, self.heads = cfg['hidden_size'], cfg['num_attention_heads']
        self.query = nn.Linear(c, c)
        self.key = nn.Linear(c, c, bias=False)
        self.value = nn.Linear(c, c)
        self.relative_position_bias = BeitRelativePositionBias(grid, self.heads) if cfg['use_relative_position_bias'] else None

    def forward(self, x, shared):
        b, n, c = x.shape
        split = lambda t: t.view(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(c // self.heads)
        if self.relative_position_bias is not None:
            scores = scores + self.relative_position_bias().unsqueeze(0)
        if shared is not None:
            scores = scores + shared
        return (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(b, n, c)


class BeitAttention(nn.Module):
    def __init__(self, cfg, grid):
        super().__init__()
        self.attention = BeitSelfAttention(cfg, grid)
        self.output = Dense(cfg['hidden_size'], cfg['hidden_size'])

    def forward(self, x, shared):
        return self.output(self.attention(x, shared))


class BeitLayer(nn.Module):
    def __init__(self, cfg, grid, dpr):
        super().__init__()
        c, eps = cfg['hidden_size'], cfg['layer_norm_eps']
        self.attention = BeitAttention(cfg, grid)
        self.intermediate = Dense(c, cfg['intermediate_size'], act=True)
        self.output = Dense(cfg['intermediate_size'], c)
        self.layernorm_before = nn.LayerNorm(c, eps=eps)
        self.layernorm_after = nn.LayerNorm(c, eps=eps)
        self.drop_path = DropPath(dpr)
        init = cfg['layer_scale_init_value']
        if init > 0:
            self.lambda_1 = nn.Parameter(init * torch.ones(c))
            self.lambda_2 = nn.Parameter(init * torch.ones(c))
        else:
            self.lambda_1 = self.lambda_2 = None

    def forward(self, x, shared):
        a = self.attention(self.layernorm_before(x), shared)
        if self.lambda_1 is not None:
            a = self.lambda_1 * a
        x = self.drop_path(a) + x
        y = self.output(self.intermediate(self.layernorm_after(x)))
        if self.lambda_2 is not None:
            y = self.lambda_2 * y
        return self.drop_path(y) + x


class BeitEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, p = cfg['hidden_size'], cfg['patch_size']
        n = (cfg['image_size'] // p) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c)) if cfg['use_mask_token'] else None
        self.patch_embeddings = nn.Module()
        self.patch_embeddings.projection = nn.Conv2d(cfg['num_channels'], c, p, p)
        self.position_embeddings = nn.Parameter(torch.zeros(1, n + 1, c)) if cfg['use_absolute_position_embeddings'] else None

    def forward(self, px):
        x = self.patch_embeddings.projection(px).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1)
        return x + self.position_embeddings if self.position_embeddings is not None else x


class BeitModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        grid = cfg['image_size'] // cfg['patch_size']
        c, eps = cfg['hidden_size'], cfg['layer_norm_eps']
        self.embeddings = BeitEmbeddings(cfg)
        self.encoder = nn.Module()
        self.encoder.relative_position_bias = BeitRelativePositionBias(grid, cfg['num_attention_heads']) if cfg['use_shared_relative_position_bias'] else None
        dpr = [float(x) for x in torch.linspace(0, cfg['drop_path_rate'], cfg['num_hidden_layers'])]
        self.encoder.layer = nn.ModuleList([BeitLayer(cfg, grid, dpr[i]) for i in range(cfg['num_hidden_layers'])])
        self.mean_pool = cfg['use_mean_pooling']
        self.layernorm = nn.Identity() if self.mean_pool else nn.LayerNorm(c, eps=eps)
        self.pooler = nn.Module()
        self.pooler.layernorm = nn.LayerNorm(c, eps=eps) if self.mean_pool else None

    def forward(self, px):
        x = self.embeddings(px)
        shared = self.encoder.relative_position_bias() if self.encoder.relative_position_bias is not None else None
        for layer in self.encoder.layer:
            x = layer(x, shared)
        x = self.layernorm(x)
        pooled = self.pooler.layernorm(x[:, 1:, :].mean(1)) if self.mean_pool else x[:, 0]
        return x, pooled


class BeitForImageClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.beit = BeitModel(cfg)
        self.classifier = nn.Linear(cfg['hidden_size'], num_labels(cfg))

    def forward(self, px):
        return self.classifier(self.beit(px)[1])


def build(cfg):
    return Swinv2ForImageClassification(cfg) if cfg['model_type'] == 'swinv2' else BeitForImageClassification(cfg)


# ----------------------------------------------------------------------------------------------- golden check, bench

def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        b, e = v['data_offsets']
        out[k] = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).reshape(v['shape'])
    return out


def golden(root):
    res = {}
    for case in sorted(os.listdir(root)):
        d = os.path.join(root, case)
        if not os.path.exists(os.path.join(d, 'config.json')):
            continue
        cfg = json.load(open(os.path.join(d, 'config.json')))
        m = build(cfg).eval()
        m.load_state_dict(read_safetensors(os.path.join(d, 'model.safetensors')), strict=True)
        with torch.no_grad():
            logits = m(read_safetensors(os.path.join(d, 'input.safetensors'))['pixel_values'])
        want = read_safetensors(os.path.join(d, 'outputs.safetensors'))['logits']
        res[case] = float((logits - want).abs().max())
    return {'golden_max_abs_logits_err': res, 'all_below_1e-4': all(v < 1e-4 for v in res.values())}


def bench(name, batch, steps, warmup, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = SWINV2_BASE if name == 'swinv2-base' else BEIT_BASE
    m = build(cfg)
    out = {'framework': 'pytorch', 'torch': torch.__version__, 'model': name, 'batch': batch, 'size': cfg['image_size'], 'threads': threads,
           'params': sum(p.numel() for p in m.parameters()), 'train_steps': steps, 'infer_steps': steps, 'warmup': warmup}
    x = torch.rand(batch, 3, cfg['image_size'], cfg['image_size'])
    y = torch.arange(batch) % num_labels(cfg)
    opt = torch.optim.AdamW(m.parameters(), lr=5e-5, weight_decay=1e-2)
    m.train()
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        opt.step()
    out['train_step_s'] = (time.perf_counter() - t0) / steps
    out['train_images_per_s'] = batch / out['train_step_s']
    out['train_max_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    m.eval()
    with torch.no_grad():
        for i in range(warmup + steps):
            if i == warmup:
                t0 = time.perf_counter()
            m(x)
    out['infer_step_s'] = (time.perf_counter() - t0) / steps
    out['infer_images_per_s'] = batch / out['infer_step_s']
    out['max_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--golden')
    ap.add_argument('--bench', choices=['swinv2-base', 'beit-base'])
    ap.add_argument('--params', action='store_true', help='only print the parameter counts of the base models')
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--steps', type=int, default=2)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    if a.golden:
        print(json.dumps(golden(a.golden)))
    elif a.params:
        print(json.dumps({n: sum(p.numel() for p in build(c).parameters()) for n, c in (('swinv2-base', SWINV2_BASE), ('beit-base', BEIT_BASE))}))
    else:
        print(json.dumps(bench(a.bench, a.batch, a.steps, a.warmup, a.threads)))
