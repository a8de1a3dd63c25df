#!/usr/bin/env python
"""Build the training corpus: a folder of General MIDI files from real, openly licensed music.

    python training/build_corpus.py OUT_DIR [--cache DIR] [--jobs 2] [--timeout 300] [--sources freedoom,music21]

Sources (details, licences and the voice rule: training/README.md and training/MODEL_CARD.md):
  freedoom  Debian package `freedoom` (BSD-3-Clause): the Standard MIDI songs inside its two WAD files, as is.
  lmms      Debian package `lmms-common`: its demo projects (per-file licences) as band MIDI of our six classes.
  simutrans Debian package `simutrans-data` (Artistic-1.0): the game's MIDI band songs, as is.
  trackers  Debian packages `pingus-data`, `heroes-sound-tracks` (GPL-2+), `pekka-kana-2-data` (BSD-2-Clause):
            tracker modules read through libopenmpt, each instrument classed by how it sounds.
  music21   music21's bundled corpus (public-domain compositions): Bach chorales, Mozart, Haydn and Beethoven quartets,
            written out as GM MIDI with our voice → class rule. Needs `pip install music21` (build time only).

Everything slow is cached under --cache (default $GETMUSIC_CORPUS_CACHE or ~/.cache/getmusic/corpus-build): the
.deb (checked against apt's SHA256), its unpacked files, and every converted score keyed by the SHA-256 of its
source file, the recipe version and the music21 version. A rerun only copies. OUT_DIR gets one sub-folder per
collection and a manifest.json listing every file (source, licence, original name, sha256, split, classes, bars).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the recipe's helpers: training/corpus/

from corpus import debian, freedoom  # noqa: E402
from corpus.stats import file_facts, summarize  # noqa: E402

# Bump when a change to the conversion changes its output: cached conversions are keyed by it.
RECIPE_VERSION = 1
ALL_SOURCES = ("freedoom", "music21", "mma", "hydrogen", "lmms", "simutrans", "trackers")
# OUT_DIR sub-folders this recipe owns: .mid files there that the current build did not write are removed.
MANAGED = ("freedoom", "bach", "mozart", "haydn", "beethoven", "mma", "lmms", "hydrogen", "simutrans", "trackers")


def default_cache() -> Path:
    env = os.environ.get("GETMUSIC_CORPUS_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "getmusic" / "corpus-build"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def copy_songs(out: Path, collection: str, licence: str, songs) -> list[dict]:
    """Songs taken byte for byte (out_name, original, data, sha256, duplicates) written to OUT/collection/, and
    their manifest entries."""
    files = []
    for song in songs:
        rel = f"{collection}/{song.out_name}"
        write_if_changed(out / rel, song.data)
        files.append(
            {
                "path": rel,
                "source": collection,
                "collection": collection,
                "original": song.original,
                "duplicates": song.duplicates,
                "licence": licence,
                "sha256": song.sha256,
            }
        )
    return files


def package_info(package: debian.DebPackage, licence: str, collection: str) -> dict:
    """The manifest's record of a Debian package whose copyright file was copied to OUT/collection/LICENSE.txt."""
    return {
        "package": f"{package.name} (Debian)",
        "version": package.version,
        "deb": package.deb.name,
        "deb_sha256": package.sha256,
        "licence": licence,
        "licence_file": f"{collection}/LICENSE.txt (the package's debian/copyright)",
    }


def build_freedoom(out: Path, cache: Path, log) -> tuple[list[dict], list[dict], dict]:
    package = debian.fetch("freedoom", cache)
    found = freedoom.extract(package)
    files = copy_songs(out, "freedoom", freedoom.LICENCE, sorted(found.songs, key=lambda s: s.out_name))
    if found.copyright_text:
        write_if_changed(out / "freedoom" / "LICENSE.txt", found.copyright_text.encode("utf-8"))
    log(
        f"freedoom {package.version}: {len(files)} distinct MIDI songs "
        f"({sum(len(s.duplicates) for s in found.songs)} duplicate lumps, {len(found.skipped)} non-MIDI music lumps)"
    )
    return files, found.skipped, package_info(package, freedoom.LICENCE, "freedoom")


def build_simutrans(out: Path, cache: Path, log) -> tuple[list[dict], list[dict], dict]:
    from corpus import simutrans

    package = debian.fetch("simutrans-data", cache)
    songs, copyright_text = simutrans.extract(package)
    files = copy_songs(out, "simutrans", simutrans.LICENCE, songs)
    write_if_changed(out / "simutrans" / "LICENSE.txt", copyright_text.encode("utf-8"))
    log(f"simutrans-data {package.version}: {len(files)} MIDI songs")
    return files, [], package_info(package, simutrans.LICENCE, "simutrans")


def build_music21(out: Path, cache: Path, jobs: int, timeout: int, log) -> tuple[list[dict], list[dict], dict]:
    try:
        from corpus import music21_source as m21

        version = m21.music21_version()
    except ImportError:
        raise SystemExit("music21 is not installed: pip install music21 (needed only to build the corpus)") from None
    root = m21.corpus_root()
    converted = cache / "converted"
    converted.mkdir(parents=True, exist_ok=True)
    planned = []  # (collection, source path, rel, ensemble, cached output, key)
    for coll in m21.COLLECTIONS:
        for src in m21.collection_files(coll, root):
            rel = src.relative_to(root).as_posix()
            ensemble = "keyboard" if rel in coll.keyboard else coll.ensemble
            key = sha256_bytes(f"{RECIPE_VERSION}\0{version}\0{ensemble}\0{coll.bpm}\0".encode() + src.read_bytes())
            planned.append((coll, src, rel, ensemble, converted / f"{key}.mid", key))
    todo = [p for p in planned if not p[4].is_file() and not p[4].with_suffix(".fail").is_file()]
    log(
        f"music21 {version}: {len(planned)} scores, {len(planned) - len(todo)} cached, converting {len(todo)} "
        f"on {jobs} processes"
    )
    results: dict[str, dict] = {}
    if todo:
        t0 = time.time()
        # Largest scores first, so the slowest conversions do not end up alone at the tail of the run.
        ordered = sorted(todo, key=lambda p: (-p[1].stat().st_size, p[2]))
        job_args = [(str(p[1]), p[2], p[3], str(p[4]), p[0].bpm, timeout) for p in ordered]
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs, maxtasksperchild=40) as pool:
            for i, res in enumerate(pool.imap_unordered(m21.convert, job_args, chunksize=1), 1):
                results[res["rel"]] = res
                if i % 50 == 0 or i == len(todo):
                    log(f"  converted {i}/{len(todo)} ({time.time() - t0:.0f} s)")
        for _coll, _src, rel, _ensemble, cached, _key in todo:
            res = results[rel]
            if not res["ok"] and res.get("cache_failure"):
                cached.with_suffix(".fail").write_text(json.dumps(res) + "\n")
    files, skipped, seen = [], [], {}
    for coll, _src, rel, ensemble, cached, _key in planned:
        fail = cached.with_suffix(".fail")
        if not cached.is_file():
            reason = results.get(rel, {}).get("reason") or (
                json.loads(fail.read_text())["reason"] if fail.is_file() else "not converted"
            )
            skipped.append({"original": f"music21/{rel}", "reason": reason})
            continue
        data = cached.read_bytes()
        digest = sha256_bytes(data)
        if digest in seen:  # the same music under two file names (chorales reused in several cantatas)
            seen[digest]["duplicates"].append(f"music21/{rel}")
            continue
        name = rel.split("/", 1)[1].rsplit(".", 1)[0].replace("/", "-") + ".mid"
        out_rel = f"{coll.name}/{name}"
        write_if_changed(out / out_rel, data)
        entry = {
            "path": out_rel,
            "source": "music21",
            "collection": coll.name,
            "original": f"music21/{rel}",
            "duplicates": [],
            "licence": coll.licence,
            "encoder": coll.encoder,
            "voice_rule": ensemble,
            "sha256": digest,
        }
        seen[digest] = entry
        files.append(entry)
    info = {
        "package": "music21 (PyPI)",
        "version": version,
        "collections": [c.name for c in m21.COLLECTIONS],
        "excluded": m21.EXCLUDED,
    }
    return files, skipped, info


def build_mma(out: Path, cache: Path, melodies: list[dict], jobs: int, log) -> tuple[list[dict], list[dict], dict]:
    """Band renders of the training melodies built in this run (held-out pieces are never used as melodies)."""
    from corpus import mma_band, mma_grooves

    from getmusic_cli.train.sources import VALID_FRACTION, hash_fraction

    if not melodies:
        raise SystemExit("the mma source renders the melodies of freedoom/music21: add them to --sources")
    package = debian.fetch("mma", cache)
    grooves = mma_grooves.catalog(package.root)
    todo, planned = [], []
    for entry in melodies:
        if hash_fraction(entry["sha256"]) < VALID_FRACTION:
            continue  # a held-out piece's melody must not be trained on under another file's hash
        key = sha256_bytes(f"{RECIPE_VERSION}\0mma\0{package.sha256}\0{entry['sha256']}".encode())[:32]
        entry_dir = cache / "mma" / key
        planned.append((entry, entry_dir))
        if not (entry_dir / "done.json").is_file():
            todo.append((str(package.root), grooves, str(out / entry["path"]), key, str(entry_dir)))
    log(f"mma {package.version}: {len(grooves)} band grooves, {len(planned)} melodies, rendering {len(todo)} songs")
    if todo:
        t0 = time.time()
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs, maxtasksperchild=50) as pool:
            for i, _res in enumerate(pool.imap_unordered(_render_and_mark, todo, chunksize=1), 1):
                if i % 50 == 0 or i == len(todo):
                    log(f"  rendered {i}/{len(todo)} songs ({time.time() - t0:.0f} s)")
    files, skipped, seen = [], [], set()
    for entry, entry_dir in planned:
        result = json.loads((entry_dir / "done.json").read_text())
        for fail in result["failed"]:
            skipped.append({"original": f"mma render of {entry['path']}", **fail})
        for made in result["made"]:
            data = (entry_dir / made["file"]).read_bytes()
            digest = sha256_bytes(data)
            if digest in seen:
                continue
            seen.add(digest)
            rel = f"mma/{entry['collection']}-{Path(entry['path']).stem}-{made['file']}"
            write_if_changed(out / rel, data)
            files.append(
                {
                    "path": rel,
                    "source": "mma",
                    "collection": "mma",
                    "original": f"{entry['path']} bars {made['bars']} under {made['groove']}",
                    "duplicates": [],
                    "licence": mma_band.LICENCE,
                    "melody_licence": entry["licence"],
                    "genre": made["genre"],
                    "bass_lifted": made["bass_lifted"],
                    "sha256": digest,
                }
            )
    genres = {}
    for f in files:
        genres[f["genre"]] = genres.get(f["genre"], 0) + 1
    info = {
        "package": "mma (Debian)",
        "version": package.version,
        "deb": package.deb.name,
        "deb_sha256": package.sha256,
        "licence": mma_band.LICENCE,
        "grooves": len(grooves),
        "renders_by_genre": dict(sorted(genres.items())),
        "melodies": "lead lines of this build's training pieces (freedoom, music21), held-out pieces excluded",
    }
    return files, skipped, info


def _render_and_mark(job: tuple) -> dict:
    from corpus import mma_band

    result = mma_band.render_song(job)
    Path(job[4], "done.json").write_text(json.dumps(result) + "\n")
    return result


def build_hydrogen(out: Path, cache: Path, log) -> tuple[list[dict], list[dict], dict]:
    """Hydrogen's demo drum songs as drum-only GM MIDI (kit pieces mapped to GM keys by name)."""
    from corpus import hydrogen

    from getmusic_cli.score.midi_io import OutTrack, write_midi
    from getmusic_cli.score.song import TempoChange, TimeSignature

    package = debian.fetch("hydrogen-data", cache)
    files, skipped = [], []
    for src in sorted((package.root / hydrogen.SONG_DIR).glob("*.h2song")):
        if src.name in hydrogen.EXCLUDED:
            skipped.append({"original": f"hydrogen-data:{src.name}", "reason": hydrogen.EXCLUDED[src.name]})
            continue
        song = hydrogen.parse(src.read_text(encoding="utf-8"))
        sigs, last = [], None
        for tick, num, den in song.bars:
            if (num, den) != last:
                sigs.append(TimeSignature(tick, num, den))
                last = (num, den)
        rel = f"hydrogen/{src.stem}.mid"
        tmp = cache / "hydrogen" / f"{src.stem}.mid"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        write_midi(
            tmp,
            ticks_per_beat=hydrogen.TICKS_PER_BEAT,
            tempos=[TempoChange(0, song.bpm)],
            time_signatures=sigs,
            tracks=[OutTrack("drums", 0, True, song.notes)],
        )
        data = tmp.read_bytes()
        write_if_changed(out / rel, data)
        files.append(
            {
                "path": rel,
                "source": "hydrogen",
                "collection": "hydrogen",
                "original": f"hydrogen-data:{src.relative_to(package.root)}",
                "duplicates": [],
                "licence": hydrogen.LICENCE,
                "unmapped_kit_pieces": song.unmapped,
                "sha256": sha256_bytes(data),
            }
        )
    log(f"hydrogen-data {package.version}: {len(files)} drum songs, {len(skipped)} left out")
    info = {
        "package": "hydrogen-data (Debian)",
        "version": package.version,
        "deb": package.deb.name,
        "deb_sha256": package.sha256,
        "licence": hydrogen.LICENCE,
        "excluded": hydrogen.EXCLUDED,
    }
    return files, skipped, info


def build_lmms(out: Path, cache: Path, log) -> tuple[list[dict], list[dict], dict]:
    """LMMS demo projects as GM MIDI of our classes; only those with a licence of their own in debian/copyright."""
    from corpus import lmms

    from getmusic_cli.score.midi_io import OutTrack, write_midi
    from getmusic_cli.score.song import TempoChange, TimeSignature
    from getmusic_cli.score.tracks import DEFAULT_PROGRAM

    package = debian.fetch("lmms-common", cache)
    copyright_text = (package.root / lmms.COPYRIGHT).read_text(encoding="utf-8")
    stanzas = lmms.copyright_stanzas(copyright_text)
    files, skipped = [], []
    for folder in lmms.PROJECT_DIRS:
        for src in sorted((package.root / folder).rglob("*.mmp*")):
            original = f"lmms-common:{src.relative_to(package.root)}"
            rel_src = "data/projects/" + src.relative_to(package.root / "usr/share/lmms/projects").as_posix()
            licence = lmms.licence_of(rel_src, stanzas)
            if licence.spdx is None:
                skipped.append(
                    {
                        "original": original,
                        "reason": "no licence of its own in debian/copyright (only the catch-all 'Files: *', "
                        "which the file itself says is disputed for the data)",
                    }
                )
                continue
            project = lmms.parse(lmms.load_xml(src.read_bytes()))
            if not project.tracks:
                skipped.append({"original": original, "reason": "no notes on a track the class rule maps"})
                continue
            stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in src.stem)
            rel = f"lmms/{stem}.mid"
            tmp = cache / "lmms" / f"{stem}.mid"
            tmp.parent.mkdir(parents=True, exist_ok=True)
            write_midi(
                tmp,
                ticks_per_beat=lmms.TICKS_PER_BEAT,
                tempos=[TempoChange(0, project.bpm)],
                time_signatures=[TimeSignature(0, project.numerator, project.denominator)],
                tracks=[
                    OutTrack(cls, DEFAULT_PROGRAM[cls], cls == "drums", project.tracks[cls])
                    for cls in lmms.CLASSES
                    if cls in project.tracks
                ],
                end_of_file=project.end,
            )
            data = tmp.read_bytes()
            write_if_changed(out / rel, data)
            files.append(
                {
                    "path": rel,
                    "source": "lmms",
                    "collection": "lmms",
                    "original": original,
                    "duplicates": [],
                    "licence": licence.spdx,
                    "copyright": licence.copyright,
                    "track_classes": [f"{name}: {cls}" for name, cls in project.assigned],
                    "sha256": sha256_bytes(data),
                }
            )
    write_if_changed(out / "lmms" / "LICENSE.txt", copyright_text.encode("utf-8"))
    log(f"lmms-common {package.version}: {len(files)} projects, {len(skipped)} left out")
    info = {
        "package": "lmms-common (Debian)",
        "version": package.version,
        "deb": package.deb.name,
        "deb_sha256": package.sha256,
        "licence": "per file (debian/copyright): " + ", ".join(sorted({f["licence"] for f in files})),
        "licence_file": "lmms/LICENSE.txt (the package's debian/copyright)",
        "class_rule": "training/corpus/lmms.py (module docstring)",
    }
    return files, skipped, info


def build_trackers(out: Path, cache: Path, log) -> tuple[list[dict], list[dict], dict]:
    """Tracker modules of three Debian game packages as GM MIDI (training/corpus/trackers.py)."""
    from corpus import openmpt, trackers

    from getmusic_cli.score.midi_io import OutTrack, write_midi
    from getmusic_cli.score.song import TempoChange, TimeSignature

    libraries = [debian.fetch(name, cache) for name in trackers.LIBRARY_PACKAGES]
    lib = openmpt.load(sorted({p.parent for lib in libraries for p in lib.root.glob("usr/lib/*/lib*.so*")}))
    files, skipped, packages = [], [], {}
    for package_spec in trackers.PACKAGES:
        package = debian.fetch(package_spec.name, cache)
        packages[package.name] = {"version": package.version, "deb": package.deb.name, "deb_sha256": package.sha256}
        copyright_text = next(package.root.glob("usr/share/doc/*/copyright")).read_text(encoding="utf-8")
        write_if_changed(out / "trackers" / f"LICENSE-{package.name}.txt", copyright_text.encode("utf-8"))
        for src in sorted((package.root / package_spec.music_dir).iterdir()):
            if src.suffix.lower() not in trackers.MODULE_SUFFIXES:
                continue
            original = f"{package.name}:{src.relative_to(package.root).as_posix()}"
            if src.name in trackers.EXCLUDED:
                skipped.append({"original": original, "reason": trackers.EXCLUDED[src.name]})
                continue
            data = src.read_bytes()
            with openmpt.Module(data, lib) as module:
                converted = trackers.convert(module)
            reason = trackers.usable(converted)
            if reason:
                skipped.append({"original": original, "reason": reason, "instruments": converted.roles})
                continue
            rel = f"trackers/{package.name}-{src.stem}.mid"
            tmp = cache / "trackers" / Path(rel).name
            tmp.parent.mkdir(parents=True, exist_ok=True)
            write_midi(
                tmp,
                ticks_per_beat=trackers.TICKS_PER_BEAT,
                tempos=[TempoChange(0, round(converted.bpm, 2))],
                time_signatures=[TimeSignature(0, 4, 4)],
                tracks=[
                    OutTrack(name, program, is_drum, sorted(notes, key=lambda n: (n.start, n.pitch)))
                    for name, (program, is_drum, notes) in sorted(converted.tracks.items())
                ],
                end_of_file=converted.end,
            )
            midi = tmp.read_bytes()
            write_if_changed(out / rel, midi)
            files.append(
                {
                    "path": rel,
                    "source": "trackers",
                    "collection": "trackers",
                    "original": original,
                    "original_sha256": sha256_bytes(data),
                    "duplicates": [],
                    "licence": package_spec.licence,
                    "instruments": converted.roles,
                    "sha256": sha256_bytes(midi),
                }
            )
    log(f"trackers: {len(files)} modules converted, {len(skipped)} left out")
    info = {
        "packages": packages,
        "reader": "libopenmpt "
        + ", ".join(f"{lib.name} {lib.version} ({lib.deb.name}, sha256 {lib.sha256})" for lib in libraries),
        "licence": "per package: " + ", ".join(f"{p.name} {p.licence}" for p in trackers.PACKAGES),
        "licence_file": "trackers/LICENSE-<package>.txt (each package's debian/copyright)",
        "class_rule": "training/corpus/trackers.py (module docstring)",
    }
    return files, skipped, info


# Data licences from the most to the least demanding: a model trained on the corpus carries the first one present.
# (Share-alike and copyleft licences come first; a corpus mixing several still lists them all per file.)
LICENCE_ORDER = (
    "GPL-2.0-or-later",
    "CC-BY-SA-4.0",
    "CC-BY-SA-3.0",
    "Artistic-2.0",
    "Artistic-1.0",
    "BSD-3-Clause",
    "BSD-2-Clause",
)


def strongest_licence(files: list[dict]) -> str:
    present = {f["licence"] for f in files}
    for licence in LICENCE_ORDER:
        if licence in present:
            return licence
    return "public domain"


def remove_stale(out: Path, keep: set[str]) -> int:
    removed = 0
    for folder in MANAGED:
        for path in (out / folder).glob("*.mid") if (out / folder).is_dir() else ():
            if f"{folder}/{path.name}" not in keep:
                path.unlink()
                removed += 1
    return removed


def assign_splits(files: list[dict]) -> str:
    """The held-out split, by the same content-hash rule `getmusic train`/`evaluate` apply to a data folder."""
    from getmusic_cli.train.sources import VALID_FRACTION
    from getmusic_cli.train.sources import assign_splits as rule

    split = rule([f["sha256"] for f in files])
    for f in files:
        f["split"] = split[f["sha256"]]
    return (
        f"by piece: a file is 'valid' when int(sha256[:12], 16) / 2**48 < {VALID_FRACTION} "
        "(getmusic_cli.train.sources.assign_splits, the rule getmusic train and evaluate use)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="cache folder (default: $GETMUSIC_CORPUS_CACHE or ~/.cache/getmusic/corpus-build)",
    )
    ap.add_argument("--jobs", type=int, default=2, help="processes converting music21 scores")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per score before it is skipped")
    ap.add_argument("--sources", default="freedoom,music21", help=f"comma-separated, of: {', '.join(ALL_SOURCES)}")
    args = ap.parse_args(argv)
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    unknown = set(sources) - set(ALL_SOURCES)
    if unknown:
        ap.error(f"unknown sources: {', '.join(sorted(unknown))}")
    out: Path = args.out_dir
    cache: Path = args.cache or default_cache()
    out.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    started = time.time()

    def log(msg: str) -> None:
        print(f"[{time.time() - started:6.1f} s] {msg}", flush=True)

    files: list[dict] = []
    skipped: list[dict] = []
    source_info: dict[str, dict] = {}
    if "freedoom" in sources:
        f, s, info = build_freedoom(out, cache, log)
        files += f
        skipped += s
        source_info["freedoom"] = info
    if "music21" in sources:
        f, s, info = build_music21(out, cache, max(1, args.jobs), args.timeout, log)
        files += f
        skipped += s
        source_info["music21"] = info
    if "mma" in sources:
        f, s, info = build_mma(out, cache, list(files), max(1, args.jobs), log)
        files += f
        skipped += s
        source_info["mma"] = info
    if "hydrogen" in sources:
        f, s, info = build_hydrogen(out, cache, log)
        files += f
        skipped += s
        source_info["hydrogen"] = info
    if "lmms" in sources:
        f, s, info = build_lmms(out, cache, log)
        files += f
        skipped += s
        source_info["lmms"] = info
    if "simutrans" in sources:
        f, s, info = build_simutrans(out, cache, log)
        files += f
        skipped += s
        source_info["simutrans"] = info
    if "trackers" in sources:
        f, s, info = build_trackers(out, cache, log)
        files += f
        skipped += s
        source_info["trackers"] = info
    removed = remove_stale(out, {f["path"] for f in files})
    if removed:
        log(f"removed {removed} stale files")

    for f in files:  # what getmusic's reader makes of each file (track mapping included)
        try:
            f.update(file_facts(out / f["path"]))
        except Exception as exc:  # noqa: BLE001  (an unreadable file stays listed, flagged)
            f.update({"bars": 0, "classes": {}, "error": str(exc)})
    split_rule = assign_splits(files)
    stats = summarize(files)
    strongest = strongest_licence(files)
    elapsed = round(time.time() - started, 1)
    manifest = {
        "recipe": "training/build_corpus.py",
        "recipe_version": RECIPE_VERSION,
        "sources": source_info,
        "strongest_licence": strongest,
        "split_rule": split_rule,
        "stats": stats,
        "build_seconds": elapsed,
        "files": files,
        "skipped": skipped,
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out / "manifest.json")

    log(f"done: {stats['files']} files, {stats['bars']} bars, splits {stats['by_split']}, {len(skipped)} skipped")
    for name, s in stats["by_source"].items():
        log(f"  {name:9s} {s['files']:4d} files {s['bars']:6d} bars ({s['valid_files']} held out)")
    for cls, s in stats["by_class"].items():
        log(f"  {cls:9s} in {s['files']:4d} files, playing in {s['bars_playing']:6d} bars, {s['notes']} notes")
    for s in skipped:
        log(f"  skipped {s['original']}: {s['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
