"""The studio's API over a real server and the `debug` model: open, map, generate, listen, download, undo; every
failure one line of JSON, and the server keeps serving."""

from __future__ import annotations

import sys

import pytest

from getmusic_cli.pipeline import example_song
from getmusic_cli.score.midi_io import read_midi
from getmusic_cli.studio.session import safe_filename

BAR = 4 * 480  # ticks per 4/4 bar in the example (checked below)


def open_example(client):
    reply = client.post("/api/open", example_song().read_bytes(), headers={"X-Filename": "bach_bwv253.mid"})
    assert reply.status == 200, reply.body
    return reply.json()


def one_line(reply, status):
    assert reply.status == status, reply.body
    message = reply.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


def test_open_shows_tracks_classes_reasons_bars_chords_and_key(client):
    state = open_example(client)
    song = state["current"]
    assert song["filename"] == "bach_bwv253.mid"
    assert [t["class"] for t in song["tracks"]] == ["lead", "strings", "strings", "bass"]
    assert all(t["reason"] for t in song["tracks"])
    assert len(song["bars"]) == 11 and song["bars"][4]["start"] == 64
    assert all(bar["chord"] for bar in song["bars"])
    assert song["key"]
    assert sorted(song["notes"]) == ["bass", "lead", "strings"]
    assert state["candidates"] == [] and state["model"] == "debug"


def test_upload_limit_and_bad_midi_are_one_line_and_the_server_keeps_serving(client):
    big = client.post("/api/open", b"MThd" + b"\0" * (5 * 2**20 + 10))
    assert "too large" in one_line(big, 413)
    bad = client.post("/api/open", b"not a midi file at all", headers={"X-Filename": "oops%0A.mid"})
    assert "not a MIDI file" in one_line(bad, 400)
    truncated = client.post("/api/open", example_song().read_bytes()[:100], headers={"X-Filename": "cut.mid"})
    assert "truncated" in one_line(truncated, 400)
    assert client.get("/api/state").status == 200
    open_example(client)
    assert client.post("/api/open", b"").status == 400
    assert client.get("/api/state").json()["current"]["filename"] == "bach_bwv253.mid"  # the song is still open


def test_song_length_limits_apply(client, monkeypatch, tmp_path):
    from getmusic_cli.score.limits import Limits

    monkeypatch.setattr(client.server.studio, "limits", Limits(max_bars=4))
    message = one_line(client.post("/api/open", example_song().read_bytes()), 400)
    assert "limit 4" in message


def test_bad_requests_are_one_line(client):
    assert "open a MIDI file first" in one_line(client.post("/api/generate", {"mode": "infill", "bars": "1"}), 400)
    open_example(client)
    assert "JSON" in one_line(client.post("/api/generate", b"{nope", headers={"Content-Type": "application/json"}), 400)

    def refused(**request):
        return one_line(client.post("/api/generate", request), 400)

    assert "bar ranges" in refused(mode="infill", bars="x")
    assert "steps" in refused(mode="infill", bars="1", steps=0)
    assert "variations" in refused(mode="infill", bars="1", variations=99)
    assert "top-p" in refused(mode="infill", bars="1", top_p="x")
    assert "drum-repeat" in refused(mode="generate", make=["drums"], drum_repeat=-1)
    assert "kit-anchor" in refused(mode="generate", make=["drums"], kit_anchor=-1)
    assert "onset-anchor" in refused(mode="generate", make=["drums"], onset_anchor=-1)
    assert "seed" in refused(mode="infill", bars="1", seed=True)
    assert "program" in refused(mode="generate", make=["drums"], programs="drums=300")
    assert "range" in refused(mode="generate", make=["bass"], ranges="bass=Q9")
    assert "not both" in refused(mode="generate", make=["bass"], chords="Am", no_chords=True)
    assert "nothing to make" in refused(mode="generate")
    assert "choose what to do" in refused(mode="dance")
    assert "no version" in one_line(client.get("/api/midi/999"), 400)
    assert "nothing to undo" not in client.get("/api/state").body.decode()
    # a request that fails inside the generation: the job says why in one line, the server goes on
    assert client.post("/api/generate", {"mode": "infill", "bars": "20-30", "tracks": ["bass"]}).status == 200
    job = client.wait_job()
    assert job["state"] == "error" and "outside the song" in job["message"] and "\n" not in job["message"]
    assert client.get("/api/state").status == 200


def test_infill_round_trip_keeps_notes_exactly_and_changes_the_chosen_bars(client, tmp_path):
    open_example(client)
    original = read_midi(example_song())
    assert original.ticks_per_beat * 4 == BAR
    reply = client.post(
        "/api/generate", {"mode": "infill", "bars": "5-8", "tracks": ["bass"], "seed": 3, "variations": 2}
    )
    assert reply.status == 200, reply.body
    job = client.wait_job()
    assert job["state"] == "done", job
    state = client.get("/api/state").json()
    assert [c["label"] for c in state["candidates"]] == [
        "B1: bars 5-8 of bass (seed 3, variation 1)",
        "B2: bars 5-8 of bass (seed 3, variation 2)",
    ]
    inside = range(4 * BAR, 8 * BAR)
    bodies = []
    for candidate in state["candidates"]:
        download = client.get(f"/api/midi/{candidate['id']}?download=1")
        assert download.status == 200
        assert download.headers["content-disposition"].startswith("attachment;")
        bodies.append(download.body)
        path = tmp_path / candidate["filename"]
        path.write_bytes(download.body)
        result = read_midi(path)
        for cls in ("lead", "strings"):
            assert result.notes[cls] == original.notes[cls]  # exact ticks, pitches and velocities
        kept = [n for n in original.notes["bass"] if n.start not in inside]
        assert [n for n in result.notes["bass"] if n.start not in inside] == kept
        new = [(n.start, n.end, n.pitch) for n in result.notes["bass"] if n.start in inside]
        old = [(n.start, n.end, n.pitch) for n in original.notes["bass"] if n.start in inside]
        assert new and new != old
        # the page draws the new notes in full colour: only bass notes in bars 5-8 are new
        drawn = candidate["notes"]
        assert all(not n[3] for cls in ("lead", "strings") for n in drawn[cls])
        assert all(64 <= n[0] < 128 for n in drawn["bass"] if n[3]) and candidate["new_notes"] > 0
    assert bodies[0] != bodies[1]  # two variations


def test_generate_keep_and_make(client):
    open_example(client)
    reply = client.post("/api/generate", {"mode": "generate", "keep": ["lead"], "make": ["drums"], "seed": 1})
    assert reply.status == 200, reply.body
    assert client.wait_job()["state"] == "done"
    [candidate] = client.get("/api/state").json()["candidates"]
    classes = {t["name"]: t["class"] for t in candidate["tracks"]}
    assert classes == {"lead": "lead", "drums (getmusic)": "drums"}
    assert candidate["label"] == "B1: made drums under lead (seed 1)"


def test_map_override_accept_and_undo(client):
    state = open_example(client)
    first = state["current"]["id"]
    state = client.post("/api/map", {"index": 3, "class": "piano"}).json()
    assert state["current"]["tracks"][3]["class"] == "piano"
    assert state["current"]["tracks"][3]["reason"] == "chosen here"
    assert "piano" in state["current"]["notes"] and "bass" not in state["current"]["notes"]
    for index in (1, 2, 3):
        client.post("/api/map", {"index": index, "class": "drop"})
    refused = client.post("/api/map", {"index": 0, "class": "drop"})
    assert "every track was dropped" in one_line(refused, 400)
    assert "--map" not in refused.json()["error"]  # no command-line flags on the page
    assert client.get("/api/state").json()["current"]["tracks"][0]["class"] == "lead"
    assert "no track 9" in one_line(client.post("/api/map", {"index": 9, "class": "bass"}), 400)
    assert "class" in one_line(client.post("/api/map", {"index": 0, "class": "banjo"}), 400)
    for _ in range(3):
        client.post("/api/undo")
    state = client.post("/api/map", {"index": 0, "class": "auto"}).json()
    # generation uses the page's mapping: piano made from the bass track
    client.post("/api/generate", {"mode": "infill", "bars": "2", "tracks": ["piano"], "seed": 2})
    assert client.wait_job()["state"] == "done"
    state = client.get("/api/state").json()
    [candidate] = state["candidates"]
    assert [t["class"] for t in candidate["tracks"]] == ["lead", "strings", "strings", "piano"]
    accepted = client.post("/api/accept", {"id": candidate["id"]}).json()
    assert accepted["current"]["id"] == candidate["id"] and accepted["candidates"] == []
    assert "only a variation" in one_line(client.post("/api/accept", {"id": first}), 400)
    back = client.post("/api/undo").json()
    assert [c["id"] for c in back["candidates"]] == [candidate["id"]]
    while client.get("/api/state").json()["undo"]:
        client.post("/api/undo")
    assert client.get("/api/state").json()["current"]["id"] == first
    assert "nothing to undo" in one_line(client.post("/api/undo"), 400)


def test_one_generation_at_a_time_and_stop(client, monkeypatch):
    open_example(client)
    studio = client.server.studio
    gate = __import__("threading").Event()
    original = studio.generator.with_options

    def slow(**changes):
        gen = original(**changes)
        infill = gen.infill

        def waiting(*args, **kw):
            gate.wait(10)
            return infill(*args, **kw)

        gen.infill = waiting
        return gen

    monkeypatch.setattr(studio.generator, "with_options", slow)
    assert client.post("/api/generate", {"mode": "infill", "bars": "1-2", "tracks": ["bass"]}).status == 200
    busy = client.post("/api/generate", {"mode": "infill", "bars": "1-2", "tracks": ["bass"]})
    assert "running" in one_line(busy, 409)
    assert client.post("/api/cancel").status == 200
    gate.set()
    job = client.wait_job()
    assert job["state"] == "cancelled"
    assert client.get("/api/state").json()["candidates"] == []


def test_wav_of_a_version(client):
    pytest.importorskip("symusic", reason="the audio extra is not installed")
    state = open_example(client)
    reply = client.get(f"/api/wav/{state['current']['id']}")
    assert reply.status == 200, reply.body
    assert reply.body[:4] == b"RIFF" and reply.body[8:12] == b"WAVE"
    assert reply.headers["content-type"] == "audio/wav"


def test_rendered_audio_is_kept_for_a_few_versions_only(client, monkeypatch):
    from getmusic_cli.studio import session

    studio = client.server.studio
    monkeypatch.setattr(session, "WAVS_KEPT", 2)
    renders = []

    def fake_render(midi, wav, soundfont=None):
        renders.append(midi)
        wav.write_bytes(b"RIFF" + bytes(40))
        return wav

    monkeypatch.setattr("getmusic_cli.preview.audio.render_wav", fake_render)
    ids = []
    for _ in range(3):
        ids.append(open_example(client)["current"]["id"])
        assert client.get(f"/api/wav/{ids[-1]}").status == 200
    assert client.get(f"/api/wav/{ids[-1]}").status == 200  # cached: no new render
    assert len(renders) == 3
    assert [v.wav is not None for v in (studio._find(i) for i in ids)] == [False, True, True]
    assert client.get(f"/api/wav/{ids[0]}").status == 200  # rendered again
    assert len(renders) == 4
    monkeypatch.setattr(session, "WAV_BYTES_KEPT", 50)  # one 44-byte WAV fits, two do not
    assert client.get(f"/api/wav/{ids[1]}").status == 200
    assert [v.wav is not None for v in (studio._find(i) for i in ids)] == [False, True, False]


def test_unknown_routes_and_methods_are_one_line(client):
    assert one_line(client.get("/api/nothing"), 404) == "not found"
    assert one_line(client.get("/static/../app.py"), 404) == "not found"
    assert "not allowed" in one_line(client.get("/api/generate"), 405)


def test_wav_without_the_audio_extra_is_one_line(client, monkeypatch):
    state = open_example(client)
    monkeypatch.setattr(client.server.studio, "audio_problem", "audio needs the 'audio' extra: pip install x")
    assert client.get("/api/state").json()["audio"].startswith("audio needs")
    assert one_line(client.get(f"/api/wav/{state['current']['id']}"), 400).startswith("audio needs the 'audio' extra")


def test_safe_filename():
    assert safe_filename("../../etc/passwd") == "passwd.mid"
    assert safe_filename("My Song.MIDI") == "My Song.mid"
    assert safe_filename("a\nb;rm -rf.mid") == "a_b_rm -rf.mid"
    assert safe_filename("") == "song.mid"
    assert safe_filename("...") == "song.mid"


def test_studio_without_the_extra_says_what_to_install(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now raises ImportError
    res = cli("studio", "--example", "--no-browser", "--model", "debug")
    assert res.exit_code == 1
    assert 'pip install "getmusic-cli[studio]"' in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
