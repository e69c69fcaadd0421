"""Would bfloat16 make pool decisions fast enough (issue 16)? A pool decision's network time
in float32 against the same network with its transformer blocks in bfloat16 (the embedding,
the final norm, the bar head and EI stay float32), timed interleaved in one run, and how
often the bfloat16 scores pick another candidate.

The CPU's AMX/AVX-512 bfloat16 units make a 1000 x 128 x 256 matmul about 3x faster, but the
fused attention kernel, GELU and the layer norms gain little or lose, and every cast costs.
Histories: ``--histories`` GP-prior functions (6-d, the network's width) with ``--n`` uniform
points each; a pool of ``--pool`` uniform candidates.

Run:  python benchmarks/bench_bf16.py [--network gp_prior] [--n 100] [--pool 1000]
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import torch

from botorch_nap.context import inference_copy
from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.pretrained import checkpoint_path
from botorch_nap.tasks import get_family


def score_bf16_trunk(net: NAPTransformer, enc, qx: torch.Tensor) -> torch.Tensor:
    """``NAPTransformer.score`` (one chunk, padding-free history, acquisition only) with the
    blocks in bfloat16: ``net`` is a float32 network whose blocks were cast to bfloat16."""
    z = net.embed_x(qx)
    pos = net.encode_inputs(qx) if net.config.distance_bias else None
    if pos is not None and enc.pos_scale is not None:
        pos = pos * enc.pos_scale.unsqueeze(1)
    z = z.bfloat16()
    pos = None if pos is None else pos.bfloat16()
    for i, (block, k, v) in enumerate(zip(net.blocks, enc.keys, enc.values)):
        w = None if pos is None else net.distance_weights(i)
        z = block.query(z, k.bfloat16(), v.bfloat16(), None, pos, w)
    z = net.ln_f(z.float())
    return net.acquisition(z, net.bar_head(z), enc.incumbent, enc.t_frac)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--network", default="gp_prior", help="shipped name or checkpoint folder")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--pool", type=int, default=1000)
    p.add_argument("--histories", type=int, default=20)
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args()
    torch.set_num_threads(1)
    src = args.network if os.path.isdir(args.network) else checkpoint_path(args.network, "nap")
    net = inference_copy(NAPTransformer.load(src), torch.float32)
    half = copy.deepcopy(net)
    for block in half.blocks:
        block.to(torch.bfloat16)
    d = net.config.dim_x
    fam = get_family("gp_prior", dim=d, lengthscale_range=(0.1, 1.0))
    g = torch.Generator().manual_seed(0)
    X, y = fam.sample_batch(args.histories, args.n, g, split="val")
    X, y = X.float(), y.float()
    y = (y - y.mean(1, keepdim=True)) / y.std(1, keepdim=True)
    pool = torch.rand(args.histories, args.pool, d, generator=g)

    def full(i: int) -> torch.Tensor:
        enc = net.encode_history(X[i : i + 1], y[i : i + 1])
        return net.score(enc, pool[i : i + 1], chunk_size=None, return_logits=False).acq[0]

    def trunk(i: int) -> torch.Tensor:
        enc = net.encode_history(X[i : i + 1], y[i : i + 1])
        return score_bf16_trunk(half, enc, pool[i : i + 1])[0]

    same, rank, rel = 0, [], []
    with torch.no_grad():
        for i in range(args.histories):
            a, b = full(i), trunk(i)
            pick = int(b.argmax())
            same += pick == int(a.argmax())
            rank.append(int((a > a[pick]).sum()))
            rel.append(float((a - b).abs().max() / a.abs().max().clamp_min(1e-30)))
        times = {"float32": [], "bf16 blocks": []}
        for _ in range(5):
            full(0), trunk(0)
        for r in range(args.repeats):
            i = r % args.histories
            for name, fn in (("float32", full), ("bf16 blocks", trunk)):
                t0 = time.perf_counter()
                fn(i)
                times[name].append(time.perf_counter() - t0)
    med = {k: sorted(v)[len(v) // 2] * 1e3 for k, v in times.items()}
    print(f"network {args.network}: n = {args.n}, pool {args.pool}, {args.histories} histories")
    print(
        f"median ms per decision (encode + score): float32 {med['float32']:.1f}, "
        f"bf16 blocks {med['bf16 blocks']:.1f}, speed-up {med['float32'] / med['bf16 blocks']:.2f}x"
    )
    print(
        f"same pick as float32: {same} of {args.histories}; float32 rank of the bf16 pick: "
        f"median {sorted(rank)[len(rank) // 2]}, max {max(rank)}; "
        f"max |acq diff| / max acq: median {sorted(rel)[len(rel) // 2]:.3f}"
    )


if __name__ == "__main__":
    main()
