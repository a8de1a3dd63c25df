"""Install RUN_DIR/bundle (default: runs/default/bundle) as the embedded default model: config fields, model
card, registry entry.

Run from the repository root after training (training/default/recipe.sh), then
`python -m getmusic_cli.hub.registry refresh default` to record the files' sizes and sha256.
"""

import json
import shutil
import sys
from pathlib import Path

repo = Path(__file__).resolve().parents[2]
src = Path(sys.argv[1] if len(sys.argv) > 1 else repo / "runs/default") / "bundle"
dst = repo / "src/getmusic_cli/assets/default"
dst.mkdir(parents=True, exist_ok=True)
for name in ("vocab.txt", "model.safetensors"):
    shutil.copyfile(src / name, dst / name)
cfg = json.loads((src / "config.json").read_text())
cfg["name"] = "default"
cfg["sample_steps"] = 50  # 32 bars x 2 tracks in about 10 s on 2 CPU cores
cfg["licence"] = "MIT (data: BSD-3-Clause, public domain)"
cfg["description"] = (
    "getmusic's default model: a small GETDiff (4 layers x 256, 3.7 M parameters) trained on 2 CPU cores "
    "on Freedoom game music and music21's public-domain chorales and quartets."
)
(dst / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
shutil.copyfile(repo / "training/MODEL_CARD.md", dst / "MODEL_CARD.md")
reg_path = repo / "src/getmusic_cli/hub/registry.json"
reg = json.loads(reg_path.read_text())
entry = next(m for m in reg["models"] if m["name"] == "default")
entry["classes"] = cfg["classes"]
entry["licence"] = cfg["licence"]
names = [f["name"] for f in entry["files"]]
if "MODEL_CARD.md" not in names:
    entry["files"].append(
        {"name": "MODEL_CARD.md", "url": "package://assets/default/MODEL_CARD.md", "sha256": None, "size": None}
    )
reg_path.write_text(json.dumps(reg, indent=2) + "\n")
print(cfg["classes"], sum(p.stat().st_size for p in dst.iterdir()))
