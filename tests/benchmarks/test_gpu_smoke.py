"""benchmarks/gpu.py runs its CPU path end to end (tiny sizes), so the script a GPU machine runs stays working."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"


def test_gpu_benchmark_smoke_run(tmp_path):
    args = [sys.executable, str(SCRIPT), "--smoke", "--cache-dir", str(tmp_path)]
    has_onnx = all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx", "onnxscript"))
    if has_onnx:
        args.append("--onnx")
    env = {**os.environ, "PYTHONPATH": str(SCRIPT.parents[1] / "src")}
    run = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line.split() for line in run.stdout.splitlines() if line.startswith(("torch", "ONNX"))]
    modes = {" ".join(r[:-5]) for r in rows}
    assert {"torch fp32", "torch bfloat16 autocast"} <= modes
    assert ("ONNX Runtime CPU fp32" in modes) == has_onnx
    assert {r[-5] for r in rows} == {"1", "3"}  # both batch sizes
    assert all(float(r[-4]) > 0 and r[-1].endswith("x") for r in rows)
