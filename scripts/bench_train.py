#!/usr/bin/python3
"""Reference timing for `train`: the same AST, head, projector, Patch-Mix CL objective, Adam and
moving-average update as the Swift trainer (REFERENCE.md), written in Python PyTorch.
Run with Debian's python3-torch (the same libtorch 1.13 the Swift trainer links):

    /usr/bin/python3 scripts/bench_train.py --model ast-tiny --batch-size 8 --steps 10 --threads 2

Prints one JSON line: ms per step after one warm-up step (data: random tensors in memory;
Patch-Mix decisions drawn with numpy like the paper's code). With --device cuda --amp the step
is the paper's: forward passes and loss under torch.autocast (float16) and a GradScaler, and
the line adds the allocator's peak memory (scripts/gpu_smoke.sh runs it so)."""
import argparse, copy, json, math, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {  # name: (D, depth, heads, fstride, tstride)
    'ast-tiny': (64, 2, 4, 16, 16),
    'ast-small': (192, 4, 3, 16, 16),
    'ast-base': (768, 12, 12, 10, 10),
}


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv, self.proj = nn.Linear(dim, dim * 3), nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), Attention(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=1e-6), Mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim, fs, ts):
        super().__init__()
        self.proj = nn.Conv2d(1, dim, 16, stride=(fs, ts))


class ViT(nn.Module):
    def __init__(self, dim, depth, heads, fs, ts, frames, bins):
        super().__init__()
        self.f_dim, self.t_dim = (bins - 16) // fs + 1, (frames - 16) // ts + 1
        self.patch_embed = PatchEmbed(dim, fs, ts)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * .02)
        self.dist_token = nn.Parameter(torch.randn(1, 1, dim) * .02)
        self.pos_embed = nn.Parameter(torch.randn(1, 2 + self.f_dim * self.t_dim, dim) * .02)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x, mix=None):
        x = x.unsqueeze(1).transpose(2, 3)
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        if mix is not None:  # the paper's Patch-Mix: x[:, mask] = x[index][:, mask]
            index, mask = mix
            x = x.clone()
            x[:, mask, :] = x[index][:, mask, :]
        B = x.shape[0]
        x = torch.cat([self.cls_token.expand(B, -1, -1), self.dist_token.expand(B, -1, -1), x], 1) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        x = self.norm(x)
        return (x[:, 0] + x[:, 1]) / 2


class Net(nn.Module):
    def __init__(self, dim, depth, heads, fs, ts, frames=798, bins=128, classes=4):
        super().__init__()
        self.v = ViT(dim, depth, heads, fs, ts, frames, bins)
        self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, classes))
        self.projector = nn.Sequential(nn.Linear(dim, dim), nn.BatchNorm1d(dim), nn.ReLU(), nn.Linear(dim, dim))


def con_loss(a, b, labels, lam, index, T=0.06):
    B = a.shape[0]
    a, b = F.normalize(a), F.normalize(b)
    logits = b @ a.T / T
    mask_a = torch.eye(B, device=a.device)
    mask_b = torch.zeros(B, B, device=a.device); mask_b[torch.arange(B, device=a.device), index] = 1
    mask = lam * mask_a + (1 - lam) * mask_b
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    log_prob = logits - torch.log(torch.exp(logits).sum(1, keepdim=True))
    return (-(mask * log_prob).sum(1) / mask.sum(1)).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='ast-tiny', choices=PRESETS)
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--ma-beta', type=float, default=None)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--amp', action='store_true', help='autocast (float16 on cuda, bfloat16 on cpu); GradScaler on cuda')
    args = ap.parse_args()
    dev = torch.device(args.device)
    cuda = dev.type == 'cuda'
    amp_dtype = torch.float16 if cuda else torch.bfloat16
    # torch.amp.GradScaler('cuda') since torch 2.3; torch.cuda.amp.GradScaler (the paper's) before.
    scaler = (torch.amp.GradScaler('cuda', enabled=args.amp and cuda) if hasattr(torch.amp, 'GradScaler')
              else torch.cuda.amp.GradScaler(enabled=args.amp and cuda))
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1); np.random.seed(1)
    D, depth, heads, fs, ts = PRESETS[args.model]
    ma_beta = args.ma_beta if args.ma_beta is not None else (0.5 if args.model == 'ast-base' else 0.0)
    net = Net(D, depth, heads, fs, ts).to(dev)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=5e-5, weight_decay=1e-6)
    P = net.v.f_dim * net.v.t_dim
    B = args.batch_size
    x = (torch.rand(2 * B, 798, 128) * 2 - 1).to(dev)
    y = (torch.arange(2 * B) % 4).to(dev)
    times, cpu = [], []
    for step in range(1 + args.steps):
        if cuda:
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        xb, yb = x[(step % 2) * B:(step % 2 + 1) * B], y[(step % 2) * B:(step % 2 + 1) * B]
        if ma_beta > 0:
            before = copy.deepcopy(net.state_dict())
        lam = np.random.beta(1.0, 1.0)
        index = torch.randperm(B).to(dev)
        num_mask = int(P * (1 - lam))
        mask = torch.randperm(P)[:num_mask].to(dev)
        lam = 1 - num_mask / P
        with torch.autocast(device_type=dev.type, dtype=amp_dtype, enabled=args.amp):
            f = net.v(xb)
            loss = F.cross_entropy(net.mlp_head(f), yb)
            proj = net.projector(net.v(xb, (index, mask)))
            loss = loss + con_loss(f.detach(), proj, yb, lam, index)
        opt.zero_grad()
        scaler.scale(loss).backward()  # a no-op scale when the scaler is disabled
        scaler.step(opt)
        scaler.update()
        if ma_beta > 0:
            with torch.no_grad():
                for k, v in net.state_dict().items():
                    if v.is_floating_point():
                        v.copy_(ma_beta * before[k] + (1 - ma_beta) * v)
        if not math.isfinite(loss.item()) and not scaler.is_enabled():
            raise SystemExit(f'non-finite loss at step {step}')
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    ms = sum(times[1:]) / args.steps * 1000
    cpu_ms = sum(cpu[1:]) / args.steps * 1000
    print(json.dumps(dict(impl='python', preset=args.model, batchSize=B, steps=args.steps, threads=torch.get_num_threads(),
                          msPerStep=ms, cpuMsPerStep=cpu_ms, parameters=sum(p.numel() for p in net.parameters()), torch=torch.__version__,
                          device=str(dev), computeType=str(amp_dtype).split('.')[-1] if args.amp else 'float32',
                          lossScale=scaler.get_scale() if scaler.is_enabled() else None,
                          peakAllocatedMiB=torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
                          peakReservedMiB=torch.cuda.max_memory_reserved() / 2**20 if cuda else None)))


if __name__ == '__main__':
    main()
