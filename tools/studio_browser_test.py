#!/usr/bin/env python3
"""End-to-end test of the web studio (`neural-style serve` and web/) in headless Chromium.

    python3 tools/studio_browser_test.py --binary .build/debug/neural-style [--artifacts DIR] [--docs]

It starts the server on a free port with a fresh data folder, drives the page as a person would
(upload through the file inputs, set options, plan, start, watch, download, copy the command
line, compare, cancel) and checks what the page shows against what the server did. The last
check is the strongest: the copied command line, run by hand, must give the downloaded PNG's
pixels exactly, which proves "copy as command line" reproduces the result.

With --docs it uses the example photographs instead of synthetic images and writes the two
screenshots of the README (docs/studio-run.png, docs/studio-gallery.png).

Needs: Selenium 4 (`pip install selenium`), /usr/bin/chromium and /usr/bin/chromedriver. Nothing
is downloaded: the driver path is given, so Selenium Manager never runs. PNGs are written and
decoded here with zlib and struct, so PIL is not needed.
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Failure(Exception):
    """A check failed; the message says which and what was seen."""


def step(message):
    print(f"==> {message}", flush=True)


def note(message):
    print(f"    {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# PNG, by hand: enough to write test images and to read back 8-bit results and their text chunks.

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(path, width, height, pixel):
    """Writes an 8-bit RGB PNG; pixel(x, y) gives (r, g, b)."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type 0 (none) on every row
        for x in range(width):
            raw.extend(pixel(x, y))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    Path(path).write_bytes(PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
                           + png_chunk(b"IEND", b""))


def png_chunks(data):
    if not data.startswith(PNG_SIGNATURE):
        raise Failure(f"not a PNG (starts with {data[:8]!r})")
    chunks, at = [], len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if len(body) != length:
            raise Failure(f"PNG truncated in a {kind.decode('latin-1')} chunk")
        chunks.append((kind, body))
        at += 12 + length
        if kind == b"IEND":
            break
    return chunks


def png_texts(data):
    """The text of every tEXt, zTXt and iTXt chunk, as (keyword, text)."""
    texts = []
    for kind, body in png_chunks(data):
        if kind == b"tEXt":
            keyword, _, text = body.partition(b"\0")
            texts.append((keyword.decode("latin-1"), text.decode("latin-1")))
        elif kind == b"zTXt":
            keyword, _, rest = body.partition(b"\0")
            texts.append((keyword.decode("latin-1"), zlib.decompress(rest[1:]).decode("latin-1")))
        elif kind == b"iTXt":
            keyword, _, rest = body.partition(b"\0")
            compressed = rest[0]
            _language, _, rest = rest[2:].partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            texts.append((keyword.decode("latin-1"), (zlib.decompress(text) if compressed else text).decode("utf-8")))
    return texts


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(data):
    """Returns (width, height, channels, pixel bytes) of an 8-bit, non-interlaced PNG."""
    chunks = png_chunks(data)
    if not chunks or chunks[0][0] != b"IHDR":
        raise Failure("PNG has no IHDR first")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace != 0:
        raise Failure(f"PNG is not 8-bit non-interlaced grey/RGB(A): depth {depth}, colour type {color}, interlace {interlace}")
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise Failure(f"PNG image data is {len(raw)} bytes, expected {height * (stride + 1)}")
    out = bytearray(height * stride)
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upper_left = previous[i - channels] if i >= channels else 0
            if kind == 0:
                pass
            elif kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + paeth(left, up, upper_left)) & 0xFF
            else:
                raise Failure(f"PNG row {y} has filter type {kind}")
        out[y * stride:(y + 1) * stride] = line
        previous = line
    return width, height, channels, bytes(out)


def make_test_images(folder):
    content = Path(folder) / "gradient.png"
    style = Path(folder) / "stripes.png"
    write_png(content, 96, 64, lambda x, y: (x * 255 // 95, y * 255 // 63, (x + y) * 255 // 158))
    write_png(style, 64, 64, lambda x, y: (230, 60, 40) if (x + 2 * y) // 8 % 2 else (30, 40, 200))
    return content, style


# ---------------------------------------------------------------------------------------------
# The server

class Server:
    def __init__(self, binary, data, log_path, web=None):
        self.binary = binary
        self.web = web
        self.data = data
        self.log_path = log_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self, timeout=60):
        help_text = run_text([self.binary, "serve", "--help"], timeout=60)
        if "--port" not in help_text:
            raise Failure(f"{self.binary} has no serve subcommand (serve --help does not mention --port)")
        command = [self.binary, "serve", "--port", str(self.port), "--data", str(self.data)]
        if "--host" in help_text:
            command += ["--host", "127.0.0.1"]
        if self.web:
            command += ["--web", str(self.web)]
        note("$ " + shlex.join(command))
        self.log = open(self.log_path, "wb")
        # A session of its own, so the whole group can be stopped at the end.
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                return self.get("/api/info")
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise Failure(f"the server did not answer GET /api/info within {timeout} s")
            time.sleep(0.25)

    def check_alive(self):
        if self.process and self.process.poll() is not None:
            raise Failure(f"the server exited with status {self.process.returncode}")

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return json.loads(response.read())

    def job(self, job_id):
        return self.get(f"/api/jobs/{job_id}")

    def log_tail(self, lines=40):
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        if not self.process or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_text(command, timeout):
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Failure(f"{shlex.join(command)}: {error}")
    if result.returncode != 0:
        raise Failure(f"{shlex.join(command)} exited with {result.returncode}: {(result.stderr or result.stdout).strip()[-500:]}")
    return result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# The browser

class Browser:
    def __init__(self, downloads):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                         "--disable-dev-shm-usage", "--hide-scrollbars"):
            options.add_argument(argument)
        options.add_experimental_option("prefs", {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
        })
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            self.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        except Exception:
            self.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        self.console = []

    def grant_clipboard(self, origin):
        try:
            self.driver.execute_cdp_cmd("Browser.grantPermissions", {
                "origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        except Exception as error:
            note(f"could not grant clipboard permissions ({error}); the page falls back to execCommand")

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def text(self, selector):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", selector)

    def exists(self, selector):
        return self.js("return document.querySelector(arguments[0]) !== null;", selector)

    def count(self, selector):
        return self.js("return document.querySelectorAll(arguments[0]).length;", selector)

    def find(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def click(self, selector):
        element = self.find(selector)
        self.js("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    def set_field(self, element_id, value):
        from selenium.webdriver.support.ui import Select
        element = self.find("#" + element_id)
        if element.tag_name == "select":
            values = [o.get_attribute("value") for o in Select(element).options]
            if value not in values:
                raise Failure(f"#{element_id} offers {values}, not {value!r}")
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)

    def error_line(self):
        return self.js("const e = document.getElementById('error'); return e && !e.hidden ? document.getElementById('error-text').textContent : '';")

    def screenshot(self, path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if not self.driver.save_screenshot(str(path)):
            raise Failure(f"could not save the screenshot {path}")
        note(f"screenshot {path}")

    def collect_console(self):
        try:
            self.console.extend(self.driver.get_log("browser"))
        except Exception:
            pass
        return self.console

    def script_errors(self):
        """Console entries that are JavaScript errors or Content-Security-Policy refusals (a failed request's own line is not one)."""
        return [e for e in self.collect_console()
                if e.get("level") == "SEVERE" and e.get("source") in ("javascript", "console-api", "security")]

    def quit(self):
        try:
            self.driver.quit()
        except Exception:
            pass


def wait_for(description, condition, timeout, server=None, interval=0.2):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        if server:
            server.check_alive()
        try:
            value = condition()
            if value:
                return value
        except (NoSuchElementException, StaleElementReferenceException):
            pass
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout:.0f} s waiting for {description}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# The steps

class Run:
    def __init__(self, args, temp):
        self.args = args
        self.temp = temp
        self.artifacts = Path(args.artifacts)
        self.downloads = temp / "downloads"
        self.downloads.mkdir()
        self.server = Server(args.binary, temp / "data", temp / "server.log", args.web)
        self.browser = None

    def shot(self, target):
        """A screenshot: a bare name goes to --artifacts, a Path where it says."""
        self.browser.screenshot(target if isinstance(target, Path) else self.artifacts / target)

    def fail_if_job_failed(self, job_id):
        job = self.server.job(job_id)
        if job["status"] in ("failed", "cancelled"):
            raise Failure(f"job {job_id} {job['status']}: {job.get('error')}")
        return job

    def open_page(self):
        step("start the server")
        info = self.server.start()
        note(f"version {info.get('version')}; devices {[d.get('id') for d in info.get('devices', [])]}; models {info.get('models')}")
        self.info = info

        step("open the page in headless Chromium")
        self.browser = Browser(self.downloads)
        self.browser.grant_clipboard(self.server.base)
        self.browser.driver.get(self.server.base + "/")
        b = self.browser
        wait_for("the model list from /api/info", lambda: b.count("#opt-model option") > 0, 20, self.server)
        wait_for("the WebSocket to open (#ws-status[data-state=open])", lambda: b.exists('#ws-status[data-state="open"]'), 20, self.server)
        if b.error_line():
            raise Failure(f"the page shows an error on load: {b.error_line()}")
        self.check_console("on load")
        self.shot("01-page.png")

    def check_console(self, when):
        errors = self.browser.script_errors()
        if errors:
            raise Failure(f"JavaScript errors {when}:\n" + "\n".join(e.get("message", "") for e in errors))

    def upload(self, content, style):
        step(f"upload {content.name} and {style.name} through the file inputs")
        b = self.browser
        b.find("#content-input").send_keys(str(content))
        wait_for("the content image in #content-slot", lambda: b.js("return document.getElementById('content-slot').dataset.image || ''"), 30, self.server)
        b.find("#style-input").send_keys(str(style))
        wait_for("a style in #style-list", lambda: b.count(".style-item") == 1, 30, self.server)
        wait_for("both images in the library", lambda: b.count(".library-item") >= 2, 30, self.server)
        if b.error_line():
            raise Failure(f"upload: {b.error_line()}")
        images = self.server.get("/api/images")["images"]
        note(f"GET /api/images: {[(i['name'], i['width'], i['height']) for i in images]}")
        self.shot("02-uploaded.png")

    def set_options(self, model, size, iterations, style_weight, device):
        b = self.browser
        b.set_field("opt-model", model)
        b.set_field("opt-size", str(size))
        b.set_field("opt-iterations", str(iterations))
        b.set_field("opt-style-weight", str(style_weight))
        if device:
            b.set_field("device", device)

    def check_error_line(self):
        step("a bad option shows the API's error in #error")
        b = self.browser
        b.set_field("opt-style-weight", "lots")
        b.click("#plan")
        message = wait_for("#error to show", b.error_line, 20, self.server)
        note(f"#error: {message}")
        if message.startswith("POST /api/plan: HTTP"):
            raise Failure(f"the server's 4xx answer is not JSON {{\"error\": …}}: {message}")
        b.click("#error-close")

    def plan(self):
        step("plan")
        b = self.browser
        b.click("#plan")

        def planned():
            if b.error_line():
                raise Failure(f"plan failed: {b.error_line()}")
            return b.js("const e = document.getElementById('plan-text'); return e.hidden ? '' : e.textContent;")
        text = wait_for("#plan-text", planned, 30, self.server)
        note("plan: " + text.replace("\n", "\n          "))

    def start(self):
        b = self.browser
        previous = b.js("return document.getElementById('start').dataset.lastJob || ''")
        b.click("#start")

        def started():
            if b.error_line():
                raise Failure(f"start failed: {b.error_line()}")
            job = b.js("return document.getElementById('start').dataset.lastJob || ''")
            return job if job and job != previous else ""
        job_id = wait_for("the new job's id on #start", started, 30, self.server)
        note(f"job {job_id} created")
        return job_id

    def watch_progress(self, job_id, min_points, screenshot_names):
        step(f"watch job {job_id} live (iteration > 0, a data: image, ≥ {min_points} loss points)")
        b = self.browser

        def progressing():
            self.fail_if_job_failed(job_id)
            iteration = (b.text("#iteration") or "0 / 0").split("/")[0].strip()
            src = b.js("return document.getElementById('live-image').getAttribute('src') || ''")
            points = int(b.js("return document.getElementById('loss-plot').dataset.points || '0'"))
            watched = b.js("return document.getElementById('live').dataset.job")
            return watched == job_id and iteration.isdigit() and int(iteration) > 0 and src.startswith("data:image/png") and points >= min_points
        wait_for("live progress in the page", progressing, 180, self.server)
        points = b.js("return document.getElementById('loss-plot').dataset.points")
        note(f"#iteration {b.text('#iteration')}, {b.text('#sec-per-iteration')} s/it, ETA {b.text('#eta')}, "
             f"{points} loss points, legend: {b.text('#loss-legend')}")
        b.js("window.scrollTo(0, 0)")
        for target in screenshot_names:
            self.shot(target)

    def wait_done(self, job_id):
        step(f"wait for job {job_id} in the gallery")
        b = self.browser
        selector = f'.gallery-item[data-job="{job_id}"]'

        def done():
            self.fail_if_job_failed(job_id)
            return b.exists(selector)
        wait_for(f"{selector}", done, 180 if not self.args.docs else 1800, self.server, interval=0.5)
        job = self.server.job(job_id)
        note(f"done: {job.get('iteration')} of {job.get('iterations')} iterations, loss {job.get('loss')}")
        return job

    def download(self, job_id):
        step(f"download job {job_id}'s PNG")
        b = self.browser
        before = set(self.downloads.iterdir())
        b.click(f'.gallery-item[data-job="{job_id}"] .download')

        def downloaded():
            files = [p for p in set(self.downloads.iterdir()) - before if p.suffix == ".png"]
            partial = [p for p in self.downloads.iterdir() if p.suffix == ".crdownload"]
            return files[0] if files and not partial else None
        path = wait_for("the PNG in the download folder", downloaded, 30, self.server)
        data = path.read_bytes()
        texts = png_texts(data)
        note(f"{path.name}: {len(data)} bytes, text chunks {[k for k, _ in texts]}")
        if not any("neural-style stylize" in text for _, text in texts):
            raise Failure(f"{path.name} has no tEXt/iTXt chunk with \"neural-style stylize\" (chunks: {texts})")
        return decode_png(data)

    def copy_command(self, job_id):
        step(f"copy job {job_id}'s command line")
        b = self.browser
        b.js("document.getElementById('command-text').textContent = ''")
        b.click(f'.gallery-item[data-job="{job_id}"] .copy-command')
        command = wait_for("#command-text", lambda: (b.text("#command-text") or "").strip(), 10, self.server)
        if not b.find("#command-text").is_displayed():
            raise Failure("#command-text is not visible")
        note(f"command: {command}")
        if b.error_line():
            note(f"(the page says: {b.error_line()})")
        clipboard = b.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.clipboard.readText().then(done, (e) => done('unreadable: ' + e.message));")
        if clipboard.strip() == command:
            note("the clipboard holds the same command line")
        elif clipboard.startswith("unreadable"):
            note(f"clipboard {clipboard} (headless); #command-text checked instead")
        else:
            raise Failure(f"the clipboard holds {clipboard!r}, not the command line")
        api_command = self.server.job(job_id).get("command")
        if api_command != command:
            raise Failure(f"#command-text differs from the job's command: {api_command!r}")
        return command

    def reproduce(self, command, expected):
        step("run the copied command line and compare pixels with the download")
        tokens = shlex.split(command)
        if not tokens or Path(tokens[0]).name != "neural-style":
            raise Failure(f"the command does not start with neural-style: {command}")
        output = self.temp / "reproduced.png"
        tokens[0] = str(Path(self.args.binary).resolve())
        replaced = False
        for i, token in enumerate(tokens):
            if token in ("-o", "--output") and i + 1 < len(tokens):
                tokens[i + 1] = str(output)
                replaced = True
            elif token.startswith("--output="):
                tokens[i] = "--output=" + str(output)
                replaced = True
        if not replaced:
            raise Failure(f"no -o in the command: {command}")
        note("$ " + shlex.join(tokens) + f"   (in {self.server.data})")
        result = subprocess.run(tokens, cwd=self.server.data, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise Failure(f"the copied command exited with {result.returncode}: {(result.stderr or result.stdout).strip()[-800:]}")
        got = decode_png(output.read_bytes())
        if got[:3] != expected[:3]:
            raise Failure(f"reproduced image is {got[0]}×{got[1]}×{got[2]}, the download {expected[0]}×{expected[1]}×{expected[2]}")
        if got[3] != expected[3]:
            differing = sum(1 for a, c in zip(got[3], expected[3]) if a != c)
            largest = max(abs(a - c) for a, c in zip(got[3], expected[3]))
            raise Failure(f"reproduced pixels differ from the download: {differing} of {len(got[3])} bytes, by up to {largest}")
        note(f"identical: {got[0]}×{got[1]}, {got[2]} channels")

    def compare(self, job_ids, screenshot):
        step(f"compare jobs {', '.join(job_ids)} side by side")
        b = self.browser
        for job_id in job_ids:
            box = b.find(f'.gallery-item[data-job="{job_id}"] .compare-select')
            if not box.is_selected():
                b.js("arguments[0].scrollIntoView({block: 'center'});", box)
                box.click()
        wait_for(f"{len(job_ids)} results in #compare-view",
                 lambda: b.count("#compare-view .compare-item") == len(job_ids), 10, self.server)
        note("captions: " + " | ".join(b.js("return [...document.querySelectorAll('#compare-view figcaption')].map(e => e.textContent)")))
        b.js("document.getElementById('gallery-panel').scrollIntoView({block: 'start'}); window.scrollBy(0, -12);")
        time.sleep(0.5)  # the compared images load
        self.shot(screenshot)

    def cancel(self, device):
        step("start two long jobs and cancel them from the queue (the queued one, then the running one)")
        b = self.browser
        b.set_field("opt-iterations", "20000")
        running = self.start()
        waiting = self.start()
        queue = lambda job, status: b.exists(f'#queue .queue-item[data-job="{job}"][data-status="{status}"]')
        wait_for(f"job {running} running in #queue", lambda: queue(running, "running"), 60, self.server)
        wait_for(f"job {waiting} queued in #queue", lambda: queue(waiting, "queued"), 30, self.server)
        note(f"queue: {b.text('#queue')}")
        position = b.text(f'.queue-item[data-job="{waiting}"] .position')
        if position != "#1":
            raise Failure(f"the queued job's position reads {position!r}, expected #1 (API: {self.server.job(waiting).get('position')})")
        for job_id in (waiting, running):
            b.click(f'#queue .queue-item[data-job="{job_id}"] .cancel')
            wait_for(f"job {job_id} cancelled in #queue", lambda: queue(job_id, "cancelled")
                     and b.text(f'.queue-item[data-job="{job_id}"] .status') == "cancelled", 60, self.server)
            status = self.server.job(job_id)["status"]
            if status != "cancelled":
                raise Failure(f"the page says job {job_id} is cancelled but the API says {status}")
            note(f"job {job_id} cancelled")
        # The cancel's reply for a running job is written while it still runs; on a busy machine
        # it can arrive after the WebSocket event that the job ended (seen in CI). Deliver such a
        # stale copy now, in that order: the queue must keep showing the job as cancelled.
        b.js("upsertJob(Object.assign({}, state.jobs.get(arguments[0]), {status: 'running'})); renderQueue();", running)
        shown = b.text(f'.queue-item[data-job="{running}"] .status')
        if shown != "cancelled":
            raise Failure(f"a stale reply after the end turned cancelled job {running} into {shown!r} in #queue")
        note("a stale 'running' copy after the end leaves the job cancelled")
        if b.error_line():
            raise Failure(f"cancel: {b.error_line()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="the neural-style executable")
    parser.add_argument("--artifacts", default=str(REPO / ".build" / "studio-artifacts"), help="where the screenshots go")
    parser.add_argument("--docs", action="store_true", help="use the example images and write docs/studio-run.png and docs/studio-gallery.png")
    parser.add_argument("--model", default="vgg19-normalised", help="the model of --docs runs (the test itself uses random)")
    parser.add_argument("--iterations", type=int, help="iterations per job (default 30, with --docs 120)")
    parser.add_argument("--device", help="device id (default cpu, with --docs the server's first)")
    parser.add_argument("--web", help="serve the page from this folder (serve --web) instead of the copy built into the binary")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    args.binary = str(Path(args.binary).resolve())
    if args.web:
        args.web = str(Path(args.web).resolve())
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"FAIL: {args.binary} is not an executable")
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.access(tool, os.X_OK):
            sys.exit(f"FAIL: {tool} is missing (apt-get install chromium chromium-driver)")
    os.environ.setdefault("SE_AVOID_STATS", "true")

    temp = Path(tempfile.mkdtemp(prefix="studio-test-"))
    (temp / "data").mkdir()
    run = Run(args, temp)
    ok = False
    try:
        if args.docs:
            docs_run(run)
        else:
            test_run(run)
        run.check_console("during the run")
        ok = True
    except Failure as failure:
        print(f"\nFAIL: {failure}", file=sys.stderr)
    except Exception as error:  # Selenium and I/O errors: same report, with the type
        print(f"\nFAIL: {type(error).__name__}: {error}", file=sys.stderr)
    finally:
        if not ok:
            report_failure(run)
        if run.browser:
            run.browser.quit()
        run.server.stop()
        if ok and not args.keep:
            shutil.rmtree(temp, ignore_errors=True)
        else:
            print(f"(temporary folder kept: {temp})", file=sys.stderr)
    if not ok:
        sys.exit(1)
    print("PASS")


def test_run(run):
    content, style = make_test_images(run.temp)
    run.open_page()
    run.upload(content, style)
    devices = [d["id"] for d in run.info.get("devices", [])]
    device = run.args.device or ("cpu" if "cpu" in devices else None)
    iterations = run.args.iterations or 30
    step(f"set model random, size 64, {iterations} iterations, device {device}")
    run.set_options("random", 64, iterations, 5, device)
    run.check_error_line()
    run.browser.set_field("opt-style-weight", "5")
    run.plan()
    step("start")
    first = run.start()
    run.watch_progress(first, 3, ["03-running.png"])
    run.wait_done(first)
    run.browser.js("document.getElementById('gallery-panel').scrollIntoView({block: 'start'})")
    run.shot("04-gallery.png")
    pixels = run.download(first)
    command = run.copy_command(first)
    run.reproduce(command, pixels)

    step("a second result at style weight 50, to compare")
    run.browser.set_field("opt-style-weight", "50")
    second = run.start()
    run.wait_done(second)
    run.compare([first, second], "05-compare.png")
    run.cancel(device)


def docs_run(run):
    content, style = REPO / "examples" / "astronaut.png", REPO / "examples" / "starry_night.png"
    run.open_page()
    run.upload(content, style)
    iterations = run.args.iterations or 120
    step(f"set model {run.args.model}, size 256, {iterations} iterations, device {run.args.device or '(first)'}")
    run.set_options(run.args.model, 256, iterations, 5, run.args.device)
    run.plan()
    first = run.start()
    run.watch_progress(first, 8, ["03-running.png", REPO / "docs" / "studio-run.png"])
    run.wait_done(first)
    run.browser.set_field("opt-style-weight", "50")
    second = run.start()
    run.wait_done(second)
    run.download(first)
    run.shot("04-gallery.png")
    run.compare([first, second], REPO / "docs" / "studio-gallery.png")
    run.shot("05-compare.png")


def report_failure(run):
    if run.browser:
        try:
            run.browser.screenshot(run.artifacts / "failure.png")
        except Exception:
            pass
        try:
            line = run.browser.error_line()
            if line:
                print(f"the page's error line: {line}", file=sys.stderr)
        except Exception:
            pass
        console = run.browser.collect_console()
        if console:
            print("browser console (last 20):", file=sys.stderr)
            for entry in console[-20:]:
                print(f"  {entry.get('level')} {entry.get('source')}: {entry.get('message')}", file=sys.stderr)
    if run.server.process:
        print("server log (last 40 lines):", file=sys.stderr)
        print(run.server.log_tail(), file=sys.stderr)


if __name__ == "__main__":
    main()
