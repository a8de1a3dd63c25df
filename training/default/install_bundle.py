"""Install RUN_DIR/bundle (default: runs/default/bundle) as the embedded default model: config fields, model
card, registry entry (version and licence).

    python training/default/install_bundle.py RUN_DIR [CORPUS_MANIFEST ...]

The model's licence is the strongest licence of its training data, read from the corpus manifests'
``strongest_licence`` (default: corpus-band/manifest.json); the package's code stays MIT. Run from the
repository root after training (training/default/recipe.sh), then
`python -m getmusic_cli.hub.registry refresh default` to record the files' sizes and sha256.
"""

import json
import shutil
import sys
from pathlib import Path

repo = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(repo / "training"))
sys.path.insert(0, str(repo / "training/default"))
import shipped_settings  # noqa: E402
from build_corpus import LICENCE_ORDER  # noqa: E402

src = Path(sys.argv[1] if len(sys.argv) > 1 else repo / "runs/default") / "bundle"
manifests = [Path(p) for p in sys.argv[2:]] or [repo / "corpus-band/manifest.json"]
VERSION = "11"
present = {json.loads(m.read_text())["strongest_licence"] for m in manifests}
strongest = next(licence for licence in LICENCE_ORDER if licence in present)
dst = repo / "src/getmusic_cli/assets/default"
dst.mkdir(parents=True, exist_ok=True)
for name in ("vocab.txt", "model.safetensors"):
    shutil.copyfile(src / name, dst / name)
cfg = json.loads((src / "config.json").read_text())
cfg = shipped_settings.apply(cfg)
cfg["name"] = "default"
cfg["licence"] = (
    f"{strongest} (weights, from the training data: mma grooves GPL-2.0-or-later, Simutrans songs Artistic-1.0, "
    "Freedoom BSD-3-Clause, public domain)"
)
cfg["description"] = (
    "getmusic's default model: a small GETDiff (4 layers x 256, 3.8 M parameters) trained on 2 CPU cores "
    "on Freedoom game music, music21's public-domain chorales and quartets, band arrangements of their "
    "melodies rendered with mma's groove library (the backbeat grooves weighed up) and half of Simutrans's "
    "band songs; the mean of three runs' weights."
)
(dst / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
shutil.copyfile(repo / "training/MODEL_CARD.md", dst / "MODEL_CARD.md")
reg_path = repo / "src/getmusic_cli/hub/registry.json"
reg = json.loads(reg_path.read_text())
entry = next(m for m in reg["models"] if m["name"] == "default")
entry["classes"] = cfg["classes"]
entry["licence"] = cfg["licence"]
entry["version"] = VERSION
names = [f["name"] for f in entry["files"]]
if "MODEL_CARD.md" not in names:
    entry["files"].append(
        {"name": "MODEL_CARD.md", "url": "package://assets/default/MODEL_CARD.md", "sha256": None, "size": None}
    )
reg_path.write_text(json.dumps(reg, indent=2) + "\n")
print(cfg["classes"], sum(p.stat().st_size for p in dst.iterdir()))
