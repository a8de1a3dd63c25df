"""Peak memory (RSS) and load time of a sampling run from a real bundle on disk, new build vs the old one.

Two models, each loaded from a bundle folder the way the CLI loads it:

    default    the embedded model (src/getmusic_cli/assets/default), generating bass + strings for the example
    original   the published network size (original_config, 90 M parameters) with random weights saved as a real
               bundle (the default model's vocabulary, so its token table has 2,165 rows instead of 11,881:
               7 M parameters, ~30 MB fewer than the imported original), sampling L = 512 with bass + drums masked

and two ways to build the network:

    new        what getmusic does now: layers created without their random init, the loaded tensors assigned
    init       as before: a randomly initialised network, then the loaded tensors copied over it

Each (model, build) runs in a fresh process; peak RSS is that process's ru_maxrss. The peak is reached in the
first sampler call, so --steps (default 3) sampler calls stand for a 100-step run.

    python benchmarks/memory.py
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def old_build(config, weights=None, seed=0):
    """The build before issue 15: random init of every layer, then the state copied in."""
    import torch
    from safetensors.torch import load_file

    from getmusic_cli.model.network import GETDiffNetwork, init_weights

    network = GETDiffNetwork(config)
    init_weights(network, seed)
    if weights is not None:
        network.load_state_dict(load_file(str(weights)), strict=True)
    return network.to(torch.float32)


def peak_rss_gb() -> float:
    """VmHWM of this process: unlike ru_maxrss it does not inherit the parent's peak across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def child(model: str, build: str, bundle_dir: str | None, steps: int) -> None:
    import torch  # noqa: F401  (imported before the clock starts: load_s times the model, not torch)

    from getmusic_cli.hub.resolve import resolve_model
    from getmusic_cli.model.sampler import SamplerOptions, sample
    from getmusic_cli.runtime import loader

    if build == "init":
        import getmusic_cli.model.network as network_module

        network_module.build_network = old_build
    start = time.perf_counter()
    bundle = resolve_model(bundle_dir)
    denoiser = loader.load_denoiser(bundle, device="cpu")
    load_s = time.perf_counter() - start
    load_rss = peak_rss_gb()
    if model == "default":
        from getmusic_cli.pipeline import Generator, Options, example_song

        generator = Generator(Options(steps=steps, seed=0, device="cpu", force=True))
        generator.denoiser = denoiser  # the one loaded (and timed) above
        with tempfile.TemporaryDirectory() as out:
            generator.generate(example_song(), ["bass", "strings"], ["lead"], [Path(out) / "out.mid"])
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from gpu import task  # benchmarks/gpu.py: bass and drums masked, every other row given

        tokens, condition = task(bundle.vocab, 1, 512)
        sample(denoiser, bundle.vocab, tokens, condition, SamplerOptions(steps=steps, seed=0))
    peak = peak_rss_gb()
    print(json.dumps({"load_s": load_s, "load_rss_gb": load_rss, "peak_rss_gb": peak}))


def original_bundle(folder: Path) -> Path:
    import dataclasses

    from getmusic_cli.hub.bundle import save_bundle
    from getmusic_cli.hub.resolve import resolve_model
    from getmusic_cli.model.config import original_config
    from getmusic_cli.model.network import build_network

    vocab = resolve_model(None).vocab
    config = dataclasses.replace(original_config(), vocab_size=vocab.size, name="original-size")
    save_bundle(folder, config, vocab, build_network(config, seed=0).state_dict())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model, build, bundle_dir = args.child
        child(model, build, None if bundle_dir == "-" else bundle_dir, args.steps)
        return
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    with tempfile.TemporaryDirectory() as tmp:
        bundles = {"default": "-", "original": str(original_bundle(Path(tmp) / "original-size"))}
        print(f"peak RSS of a sampling run from a bundle on disk ({args.steps} sampler calls), fresh process each")
        print(f"{'model':<9} {'build':<5} {'load s':>7} {'RSS after load GB':>18} {'peak RSS GB':>12}")
        results = {}
        for model, path in bundles.items():
            for build in ("init", "new"):
                runs = []
                for _ in range(args.repeats):
                    cmd = [sys.executable, __file__, "--steps", str(args.steps), "--child", model, build, path]
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
                    runs.append(json.loads(out.strip().splitlines()[-1]))
                best = {k: min(r[k] for r in runs) for k in runs[0]}
                results[model, build] = best
                print(
                    f"{model:<9} {build:<5} {best['load_s']:>7.2f} {best['load_rss_gb']:>18.2f} "
                    f"{best['peak_rss_gb']:>12.2f}"
                )
        for model in bundles:
            old, new = results[model, "init"], results[model, "new"]
            print(
                f"{model}: peak RSS new / init = {new['peak_rss_gb'] / old['peak_rss_gb']:.2f}, "
                f"load time new / init = {new['load_s'] / old['load_s']:.2f}"
            )
        peak = results["original", "new"]["peak_rss_gb"]
        print(f"goal: original size peak RSS <= 0.7 GB: {peak:.2f} GB ({'met' if peak <= 0.7 else 'MISSED'})")


if __name__ == "__main__":
    main()
