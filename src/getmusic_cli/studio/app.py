"""The studio's web routes (Starlette), over a session.Studio. Every answer to a bad request is one line of JSON
(``{"error": ...}``) that the page shows; nothing that goes wrong in a request stops the server.

GET  /                      the page (static/index.html)
GET  /static/NAME           studio.js, studio.css
GET  /api/state             everything the page draws (song, variations, job)
POST /api/open              body: the MIDI file's bytes; header X-Filename
POST /api/map               {"index": 2, "class": "bass" | "drop" | "auto"}
POST /api/generate          {"mode": "infill", "bars": "5-8", "tracks": [...], "steps": ..., ...}
GET  /api/job               progress of the running generation
POST /api/cancel | /api/undo | /api/discard | /api/accept {"id": N}
GET  /api/midi/N, /api/wav/N   a version's MIDI or rendered WAV (?download=1: as an attachment)
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from urllib.parse import unquote

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from getmusic_cli.errors import GetMusicError, first_line, printable
from getmusic_cli.studio.security import Guard
from getmusic_cli.studio.session import Busy, Studio

STATIC = {"studio.js": "text/javascript; charset=utf-8", "studio.css": "text/css; charset=utf-8"}
MAX_JSON_BYTES = 64 * 1024


def _static(name: str) -> bytes:
    return resources.files("getmusic_cli.studio").joinpath("static", name).read_bytes()


def error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": first_line(message)}, status_code=status)


def _guarded(handler):
    """One line of JSON for every failure: user errors 400 (409 while a job runs), anything else 500."""

    async def endpoint(request: Request):
        try:
            return await handler(request)
        except Busy as exc:
            return error(str(exc), 409)
        except GetMusicError as exc:
            return error(str(exc), 400)
        except MemoryError:
            return error("out of memory", 500)
        except Exception as exc:  # the server keeps running whatever a request did
            return error(f"internal error: {type(exc).__name__}: {first_line(exc)}", 500)

    return endpoint


async def _json(request: Request) -> dict:
    body = await _body(request, MAX_JSON_BYTES)
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise GetMusicError("the request is not valid JSON") from None
    if not isinstance(data, dict):
        raise GetMusicError("the request must be a JSON object")
    return data


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes ``limit`` bytes (whatever Content-Length claims)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(int(declared), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


class _TooLarge(GetMusicError):
    def __init__(self, size: int, limit: int):
        super().__init__(f"the file is too large ({size / 2**20:.1f} MB; the studio takes up to {limit / 2**20:g} MB)")


def _version_id(request: Request) -> int:
    text = request.path_params["vid"]
    if not text.isdigit():
        raise GetMusicError("no such version")
    return int(text)


def _file(name: str, data: bytes, media: str, download: bool) -> Response:
    disposition = "attachment" if download else "inline"
    ascii_name = printable(name).encode("ascii", "replace").decode().replace('"', "_")
    return Response(data, media_type=media, headers={"content-disposition": f'{disposition}; filename="{ascii_name}"'})


async def _call(fn, *args):
    """Run a studio method in a worker thread: reading, analysing and rendering songs never blocks the server."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args))


def build_app(studio: Studio, token: str, port: int):
    """The ASGI app: Starlette routes behind the token / Host guard."""

    async def page(request: Request):
        html = _static("index.html").decode().replace("__TOKEN__", token)
        return Response(html, media_type="text/html; charset=utf-8")

    async def static(request: Request):
        name = request.path_params["name"]
        if name not in STATIC:
            return error("not found", 404)
        return Response(_static(name), media_type=STATIC[name])

    async def state(request: Request):
        return JSONResponse(await _call(studio.state))

    async def job(request: Request):
        return JSONResponse(studio.job.view())

    async def open_song(request: Request):
        try:
            data = await _body(request, studio.max_upload_bytes)
        except _TooLarge as exc:
            return error(str(exc), 413)
        await _call(studio.open, unquote(request.headers.get("x-filename") or ""), data)
        return JSONResponse(await _call(studio.state))

    async def map_track(request: Request):
        data = await _json(request)
        index = data.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise GetMusicError("name a track by its index")
        await _call(studio.set_class, index, str(data.get("class", "")))
        return JSONResponse(await _call(studio.state))

    async def generate(request: Request):
        await _call(studio.start, await _json(request))
        return JSONResponse(await _call(studio.state))

    async def cancel(request: Request):
        studio.cancel()
        return JSONResponse(studio.job.view())

    async def undo(request: Request):
        await _call(studio.undo)
        return JSONResponse(await _call(studio.state))

    async def discard(request: Request):
        await _call(studio.discard)
        return JSONResponse(await _call(studio.state))

    async def accept(request: Request):
        data = await _json(request)
        vid = data.get("id")
        if not isinstance(vid, int) or isinstance(vid, bool):
            raise GetMusicError("name a version by its id")
        await _call(studio.accept, vid)
        return JSONResponse(await _call(studio.state))

    async def midi(request: Request):
        name, data = await _call(studio.midi, _version_id(request))
        return _file(name, data, "audio/midi", request.query_params.get("download") == "1")

    async def wav(request: Request):
        name, data = await _call(studio.wav, _version_id(request))  # the synthesizer takes a moment
        return _file(name, data, "audio/wav", request.query_params.get("download") == "1")

    routes = [
        Route("/", _guarded(page)),
        Route("/static/{name}", _guarded(static)),
        Route("/api/state", _guarded(state)),
        Route("/api/job", _guarded(job)),
        Route("/api/open", _guarded(open_song), methods=["POST"]),
        Route("/api/map", _guarded(map_track), methods=["POST"]),
        Route("/api/generate", _guarded(generate), methods=["POST"]),
        Route("/api/cancel", _guarded(cancel), methods=["POST"]),
        Route("/api/undo", _guarded(undo), methods=["POST"]),
        Route("/api/discard", _guarded(discard), methods=["POST"]),
        Route("/api/accept", _guarded(accept), methods=["POST"]),
        Route("/api/midi/{vid}", _guarded(midi)),
        Route("/api/wav/{vid}", _guarded(wav)),
    ]

    async def not_found(request: Request, exc):
        return error("not found", 404)

    async def not_allowed(request: Request, exc):
        return error(f"{request.method} is not allowed here", 405)

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    return Guard(app, token, port)
