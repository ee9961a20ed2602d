"""torch.distributed (gloo, 2 processes on localhost): every rank fills its shard of a weight
with ferroinit (``global_shape``/``offset``) through torch tensors; the all_gather of the
shards is bitwise the unsharded in-memory result, and every rank's generator ends in step.

The ranks are this file run as a script (``python test_torch_distributed.py RANK ...``) in
fresh subprocesses, with a bounded timeout and cleanup on every path.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import numpy as np

WORLD = 2
SEED = 4242

# (initializer, global shape, dtype, positional parameters, dimension the ranks split)
LAYERS = [
    ("kaiming_uniform", (1031, 517), "float32", (5 ** 0.5, "fan_in", "leaky_relu"), 0),
    ("normal", (1030, 3), "float64", (0.0, 0.02), 0),
    ("trunc_normal", (64, 27, 3, 3), "float32", (0.0, 0.02, -0.04, 0.04), 0),
    ("xavier_normal", (333, 250), "float32", (1.0,), 1),  # a column shard (Shard(1))
    ("kaiming_normal", (6, 4, 5), "float16", (0, "fan_out", "relu"), 0),
]


def split(n: int, rank: int, world: int):
    """Uneven, torch.chunk-like bounds of rank's part of n."""
    per = -(-n // world)
    lo = min(rank * per, n)
    return lo, min(lo + per, n)


def run_rank(rank: int, port: int, out_dir: str) -> None:
    """One rank: fill its shards through torch tensors, all_gather, save what rank 0 sees."""
    import datetime

    import ferroinit as init
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD, timeout=datetime.timedelta(seconds=60))
    try:
        g = init.Generator(SEED)  # every rank seeds alike; shards keep them in step
        for i, (name, shape, dtype, args, dim) in enumerate(LAYERS):
            lo, hi = split(shape[dim], rank, WORLD)
            local_shape = list(shape)
            local_shape[dim] = hi - lo
            offset = [0] * len(shape)
            offset[dim] = lo
            t = torch.empty(local_shape, dtype=getattr(torch, dtype))
            # t.numpy() shares the tensor's memory: ferroinit writes into the tensor itself
            getattr(init, name + "_")(t.numpy(), *args, generator=g, global_shape=shape,
                                      offset=offset)
            # all_gather needs equal sizes: pad to the largest shard, then cut
            per = -(-shape[dim] // WORLD)
            pad_shape = list(shape)
            pad_shape[dim] = per
            padded = torch.zeros(pad_shape, dtype=t.dtype)
            padded.narrow(dim, 0, hi - lo).copy_(t)
            parts = [torch.empty_like(padded) for _ in range(WORLD)]
            dist.all_gather(parts, padded)
            pieces = [p.narrow(dim, 0, split(shape[dim], r, WORLD)[1]
                               - split(shape[dim], r, WORLD)[0]) for r, p in enumerate(parts)]
            full = torch.cat(pieces, dim=dim)
            np.save(os.path.join(out_dir, f"rank{rank}_layer{i}.npy"), full.numpy())
        # every rank's generator is at the same place: gather the states
        states = [None] * WORLD
        dist.all_gather_object(states, g.get_state())
        np.save(os.path.join(out_dir, f"rank{rank}_states.npy"), np.array(states, dtype=object),
                allow_pickle=True)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(out_dir: str, timeout: float = 120.0):
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", GLOO_SOCKET_IFNAME="lo",
               OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1")
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    for attempt in range(3):  # a port taken between free_port() and bind: try another
        port = free_port()
        env["MASTER_PORT"] = str(port)
        procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), str(r), str(port),
                                   out_dir], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
                 for r in range(WORLD)]
        try:
            deadline = time.monotonic() + timeout
            outs = []
            for p in procs:
                left = max(1.0, deadline - time.monotonic())
                outs.append(p.communicate(timeout=left)[0])
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            logs = [p.communicate()[0] for p in procs]
            raise AssertionError(f"ranks did not finish in {timeout} s:\n" + "\n".join(logs))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        codes = [p.returncode for p in procs]
        if all(c == 0 for c in codes):
            return
        if attempt < 2 and any("address already in use" in o.lower() for o in outs):
            continue
        raise AssertionError(f"ranks exited with {codes}:\n" + "\n----\n".join(outs))


def test_gloo_ranks_fill_their_shards_and_gather_the_unsharded_weights(tmp_path):
    import ferroinit as init

    assert any(shape[dim] % WORLD for _, shape, _, _, dim in LAYERS), "want an uneven split"
    launch(str(tmp_path))
    ref = init.Generator(SEED)
    for i, (name, shape, dtype, args, _) in enumerate(LAYERS):
        want = getattr(init, name)(shape, *args, dtype=dtype, generator=ref)
        for r in range(WORLD):
            got = np.load(tmp_path / f"rank{r}_layer{i}.npy")
            assert got.shape == want.shape and got.dtype == want.dtype, (name, r)
            u = f"u{want.dtype.itemsize}"
            bad = got.view(u) != want.view(u)
            assert not bad.any(), f"{name}: rank {r} gathered {int(bad.sum())} wrong elements"
    for r in range(WORLD):
        states = np.load(tmp_path / f"rank{r}_states.npy", allow_pickle=True)
        assert [tuple(s) for s in states] == [ref.get_state()] * WORLD


if __name__ == "__main__":
    run_rank(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
