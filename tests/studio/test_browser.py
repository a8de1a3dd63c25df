"""End to end in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`, driven by selenium;
nothing is downloaded at run time) opens the example, drags over bars 5-8 of the bass, generates with the `debug`
model, plays and compares, downloads the MIDI file, and checks it: kept notes exact, the chosen bars changed.

The screenshot goes to the test's folder; GETMUSIC_UPDATE_SCREENSHOT=1 runs the first test with the default model
(music rather than the debug model's noise) and copies its screenshot to docs/studio.png, the README's picture.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from getmusic_cli.pipeline import example_song
from getmusic_cli.score.midi_io import read_midi

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the dev extra)")
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver",)
BAR = 4 * 480


def _find(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
        if found:
            return found
    return None


@pytest.fixture
def browser(tmp_path, monkeypatch):
    binary, driver_path = _find(BROWSERS), _find(DRIVERS)
    if binary is None or driver_path is None:
        pytest.skip("no Chromium and chromedriver here (Debian: apt-get install chromium chromium-driver)")
    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium never fetches a driver or a browser
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1200",
        "--autoplay-policy=no-user-gesture-required",
        "--mute-audio",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
    except WebDriverException as exc:
        pytest.skip(f"Chromium does not start here: {str(exc).splitlines()[0]}")
    driver.downloads = downloads
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


UPDATE_SCREENSHOT = os.environ.get("GETMUSIC_UPDATE_SCREENSHOT") == "1"


@pytest.fixture
def page_server(request):
    """The studio server of the first test: the debug model, or the default one when the screenshot is remade."""
    if not UPDATE_SCREENSHOT:
        return request.getfixturevalue("server")
    from getmusic_cli.pipeline import Generator, Options

    return request.getfixturevalue("start_server")(Generator(Options(threads=1)))


def wait_for(condition, timeout=30.0, what="the page"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except StaleElementReferenceException:  # the page redrew the element between finding and reading it
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def drag_cells(driver, start, end):
    """Drag with the mouse from one grid cell to another ((class, bar) each)."""
    canvas = driver.find_element(By.ID, "grid")
    size = canvas.size
    points = [
        driver.execute_script("return window.studio.cellPoint(arguments[0], arguments[1])", *c) for c in (start, end)
    ]
    # selenium 4 offsets count from the element's centre
    (x0, y0), (x1, y1) = ((p["x"] - size["width"] / 2, p["y"] - size["height"] / 2) for p in points)
    actions = ActionChains(driver)
    actions.move_to_element_with_offset(canvas, int(x0), int(y0)).click_and_hold()
    actions.move_to_element_with_offset(canvas, int((x0 + x1) / 2), int(y0))
    actions.move_to_element_with_offset(canvas, int(x1), int(y1)).release().perform()


def test_open_select_generate_play_compare_download(browser, page_server, tmp_path):
    driver, server = browser, page_server
    model = server.studio.generator.config.name
    driver.get(server.url)
    wait_for(lambda: "open a MIDI file" in text(driver, "song-info"), what="the empty page")

    # open: the file input, as a user picking the file
    file_input = driver.find_element(By.ID, "file")
    driver.execute_script("arguments[0].style.display = 'block'", file_input)
    file_input.send_keys(str(example_song()))
    driver.execute_script("arguments[0].style.display = ''", file_input)
    wait_for(lambda: "bach_bwv253.mid: 11 bars" in text(driver, "song-info"), what="the song")
    assert f"model: {model}" in text(driver, "model-info")
    rows = driver.find_elements(By.CSS_SELECTOR, "#track-rows tr")
    assert [r.find_element(By.TAG_NAME, "select").get_attribute("value") for r in rows] == [
        "lead",
        "strings",
        "strings",
        "bass",
    ]

    # select bars 5-8 of the bass by dragging over the grid
    drag_cells(driver, ("bass", 5), ("bass", 8))
    assert driver.find_element(By.ID, "bars").get_attribute("value") == "5-8"
    assert driver.find_element(By.ID, "tracks").get_attribute("value") == "bass"

    # generate two variations with the debug model
    for field, value in (("steps", "" if UPDATE_SCREENSHOT else "3"), ("seed", "11"), ("variations", "2")):
        box = driver.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    driver.find_element(By.ID, "generate").click()
    wait_for(lambda: driver.find_element(By.ID, "job-text").get_attribute("data-state") == "done", 60, "generation")
    assert text(driver, "error") == ""
    versions = driver.find_elements(By.CSS_SELECTOR, "#version-rows tr[data-id]")
    assert len(versions) == 3  # A and B1, B2
    assert "B1: bars 5-8 of bass (seed 11, variation 1)" in versions[1].text
    assert "showing B1" in text(driver, "viewing")

    # play B1 (the shown one), loop the selection, switch to A at the same moment, stop
    driver.find_element(By.ID, "loop").click()
    driver.find_element(By.ID, "play").click()
    wait_for(lambda: text(driver, "play-state").startswith("playing B1"), 30, "B1 to play")
    started = float(driver.find_element(By.ID, "play-state").get_attribute("data-time"))
    bar5 = server.studio.state()["current"]["bars"][4]["seconds"]  # the example: 4/4 at 80 BPM, 12 s
    assert bar5 == pytest.approx(12.0) and started >= bar5 - 0.05  # the loop starts at the selection
    wait_for(
        lambda: float(driver.find_element(By.ID, "play-state").get_attribute("data-time")) > started + 0.2,
        20,
        "the audio to advance",
    )
    driver.save_screenshot(str(tmp_path / "studio.png"))
    driver.find_element(By.ID, "ab").click()
    wait_for(lambda: text(driver, "play-state").startswith("playing A"), 30, "A to play")
    driver.find_element(By.ID, "stop").click()
    wait_for(lambda: text(driver, "play-state") == "stopped", 10, "stop")

    # download B1's MIDI and check it
    versions = driver.find_elements(By.CSS_SELECTOR, "#version-rows tr[data-id]")
    versions[1].find_element(By.CSS_SELECTOR, "a.download-midi").click()
    name = versions[1].find_element(By.CSS_SELECTOR, "a.download-midi").get_attribute("download")
    downloaded = driver.downloads / name
    wait_for(lambda: downloaded.is_file() and not list(driver.downloads.glob("*.crdownload")), 30, "the download")
    original, result = read_midi(example_song()), read_midi(downloaded)
    assert result.notes["lead"] == original.notes["lead"]
    assert result.notes["strings"] == original.notes["strings"]
    inside = range(4 * BAR, 8 * BAR)
    assert [n for n in result.notes["bass"] if n.start not in inside] == [
        n for n in original.notes["bass"] if n.start not in inside
    ]
    new = [(n.start, n.pitch) for n in result.notes["bass"] if n.start in inside]
    assert new and new != [(n.start, n.pitch) for n in original.notes["bass"] if n.start in inside]

    # keep it, then undo: back to the song and its two variations
    versions[1].find_element(By.CSS_SELECTOR, "button.keep").click()
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#version-rows tr[data-id]")) == 1, what="keep")
    driver.find_element(By.ID, "undo").click()
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#version-rows tr[data-id]")) == 3, what="undo")

    if UPDATE_SCREENSHOT:
        shutil.copyfile(tmp_path / "studio.png", REPO / "docs" / "studio.png")


def test_errors_show_as_one_line_on_the_page(browser, server, tmp_path):
    driver = browser
    driver.get(server.url)
    wait_for(lambda: "open a MIDI file" in text(driver, "song-info"))
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00")
    file_input = driver.find_element(By.ID, "file")
    driver.execute_script("arguments[0].style.display = 'block'", file_input)
    file_input.send_keys(str(bad))
    wait_for(lambda: "truncated" in text(driver, "error"), what="the error line")
    assert "\n" not in text(driver, "error")
    driver.find_element(By.ID, "generate").click()  # nothing open, nothing selected: one line again
    wait_for(lambda: "select what to regenerate" in text(driver, "error") or "open a MIDI" in text(driver, "error"))


def test_the_page_without_its_token_is_refused(browser, server):
    driver = browser
    driver.get(f"http://127.0.0.1:{server.port}/")
    assert "forbidden" in driver.find_element(By.TAG_NAME, "body").text
    driver.get(server.url.replace("127.0.0.1", "localhost"))
    wait_for(lambda: "open a MIDI file" in text(driver, "song-info"), what="the page at localhost")


def test_map_a_track_and_make_whole_tracks(browser, server):
    driver = browser
    server.studio.open_path(example_song())
    driver.get(server.url)
    wait_for(lambda: "bach_bwv253.mid" in text(driver, "song-info"), what="the song")

    # the bass track read as piano, with the drop-down
    select = driver.find_element(By.CSS_SELECTOR, '#track-rows select[data-index="3"]')
    select.find_element(By.CSS_SELECTOR, 'option[value="piano"]').click()
    wait_for(lambda: "chosen here" in driver.find_elements(By.CSS_SELECTOR, "#track-rows tr")[3].text, what="mapping")
    assert server.studio.current.song.classes() == ["lead", "piano", "strings"]

    # make drums under the lead only: strings and piano left out
    driver.find_element(By.CSS_SELECTOR, 'input[name="mode"][value="generate"]').click()
    assert driver.find_element(By.ID, "make-box").is_displayed()
    assert not driver.find_element(By.ID, "make-drums-keep").is_enabled()  # nothing to keep: absent
    for radio in ("make-drums-make", "make-piano-out", "make-strings-out"):
        driver.find_element(By.ID, radio).click()
    steps = driver.find_element(By.ID, "steps")
    steps.clear()
    steps.send_keys("2")
    driver.find_element(By.ID, "generate").click()
    wait_for(lambda: driver.find_element(By.ID, "job-text").get_attribute("data-state") == "done", 60, "generation")
    rows = driver.find_elements(By.CSS_SELECTOR, "#version-rows tr[data-id]")
    assert "B1: made drums under lead" in rows[1].text
    [candidate] = server.studio.candidates
    assert candidate.song.classes() == ["lead", "drums"]
