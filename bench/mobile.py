"""The phone app's speed under Xvfb: cold start to the first usable screen, and frame times
while 1,000 records sync.

    python -m bench mobile [--starts 5] [--records 1000] [--gil-switch MS]
                                        (needs a display: .ci/with-display.sh)

Cold start: a fresh process per start (python startup, imports, font, kv, first frame), timed
from just before the process is spawned to the first frame drawn with the first usable screen:
signed out, the sign-in screen; signed in (after the frames run below, so the phone holds the
inspector's session and the 1,000 synced cases, and the server is up), the patrol screen with
its task list. Target: ≤ 1.5 s.

Frames: the real app signed in as an inspector, 1,000 reports recorded offline, then a sync
(push in batches of 50, then the pull of the echoed and published records) while the UI loop
runs; every frame's wall time is recorded. Target: no frame over 50 ms. Each frame's wait for
a CPU (the UI thread ready to run, the OS running something else: ``/proc`` schedstat) is
recorded too, and the frames are counted again without it. ``--gil-switch MS`` sets the GIL
switch interval for the sync (Python's default is 5 ms). ``CGT_BENCH_TRACE=1`` prints, for
each slow frame, where every thread was (stack samples every 5 ms) and the gen-2 GC pauses.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CHILD = r"""
import os, sys, time, json
os.environ.setdefault("KIVY_NO_ARGS", "1")
start = float(sys.argv[1])
from kivy.clock import Clock
from mobile.app import CgtApp
app = CgtApp(home=sys.argv[2])
def first_frame(_dt):
    print(json.dumps({"screen": app.shell.current, "seconds": time.time() - start}), flush=True)
    app.stop()
Clock.schedule_once(lambda _dt: Clock.schedule_once(first_frame, 0), 0)
app.run()
"""


IDLE_SECONDS = 10.0

# The floor: a bare Kivy app with one Chinese label in the same font, to the first frame.
BARE = r"""
import os, sys, time, json
os.environ.setdefault("KIVY_NO_ARGS", "1")
start = float(sys.argv[1])
from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.uix.label import Label
from mobile.logic.fonts import find_cjk_font
class Bare(App):
    def load_kv(self, filename=None):
        return False
    def build(self):
        LabelBase.register(DEFAULT_FONT, find_cjk_font("linux"))
        return Label(text="城管通")
app = Bare()
def first_frame(_dt):
    print(json.dumps({"screen": "bare", "seconds": time.time() - start}), flush=True)
    app.stop()
Clock.schedule_once(lambda _dt: Clock.schedule_once(first_frame, 0), 0)
app.run()
"""


def cold_starts(n: int, home: Path, child: str = CHILD, screen: str | None = None) -> list[float]:
    home.mkdir(parents=True, exist_ok=True)
    kivy_home = tempfile.mkdtemp(prefix="kivy-home-", dir=home)  # a first start for Kivy too
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_LOG_MODE": "PYTHON",
           "KIVY_HOME": kivy_home}  # fmt: skip
    times = []
    for _ in range(n):
        start = time.time()
        out = subprocess.run([sys.executable, "-c", child, str(start), str(home)], env=env,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        line = [x for x in out.stdout.splitlines() if x.startswith("{")]
        if not line:
            raise SystemExit(f"the app did not start: {out.stderr[-2000:]}")
        shown = json.loads(line[-1])
        if screen and shown["screen"] != screen:
            raise SystemExit(f"the app started on {shown['screen']!r}, not {screen!r}")
        times.append(float(shown["seconds"]))
    return times


def _runqueue_wait() -> float:
    """Seconds this (the UI) thread has spent ready to run but waiting for a CPU
    (``/proc/thread-self/schedstat``, field 2): time the machine, not the app, took."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except OSError:  # not Linux, or schedstats off: count no wait
        return 0.0


class _StackSampler:
    """CGT_BENCH_TRACE: every 5 ms, where each thread is (innermost frames of our code and
    the library), so a slow frame can be explained: the UI thread's work or a wait."""

    def __init__(self) -> None:
        import threading

        self.samples: list[tuple[float, dict[str, str]]] = []
        self.main = threading.main_thread().ident
        self.names = {t.ident: t.name for t in threading.enumerate()}
        self.running = True
        self.thread = threading.Thread(target=self.run, name="bench-sampler", daemon=True)
        self.thread.start()

    def run(self) -> None:
        import threading
        import traceback

        while self.running:
            at = time.perf_counter()
            names = {t.ident: t.name for t in threading.enumerate()}
            where = {}
            for ident, frame in sys._current_frames().items():
                if ident == threading.get_ident():
                    continue
                stack = traceback.extract_stack(frame)[-3:]
                where[names.get(ident, str(ident))] = " < ".join(
                    f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in reversed(stack)
                )
            self.samples.append((at, where))
            time.sleep(0.005)

    def show(self, start: float, end: float, origin: float) -> None:
        print(f"slow frame {1000 * (end - start):.0f} ms at +{end - origin:.2f} s:")
        for at, where in self.samples:
            if start <= at <= end:
                print(f"  +{1000 * (at - start):5.0f} ms " + " | ".join(
                    f"{k}: {v}" for k, v in where.items() if "sampler" not in k))  # fmt: skip

    def stop(self) -> None:
        self.running = False
        self.thread.join()


def frames_while_syncing(
    records: int,
    tmp: Path,
    idle_seconds: float,
    gil_switch_ms: float | None = None,
    signed_in_starts: int = 0,
) -> dict[str, Any]:
    from datetime import timedelta

    from mobile.logic.location import from_gps
    from mobile.logic.report_form import ReportForm
    from sync.case_mutations import REPORT
    from tests.factories import DEMO_PASSWORD, INSPECTOR, INSPECTOR_POINT
    from tests.mobile.helpers import photo_bytes, process_server
    from tests.mobile.ui import Driver

    tmp.mkdir(parents=True, exist_ok=True)
    with process_server(tmp) as base:
        d = Driver(tmp / "phone", base, interval=timedelta(hours=1))
        if gil_switch_ms is not None:  # to compare with Python's default (5 ms)
            sys.setswitchinterval(gil_switch_ms / 1000)
        d.tap_id("tab_staff")
        d.type("username", INSPECTOR)
        d.type("password", DEMO_PASSWORD)
        d.tap_id("submit")
        d.on("patrol")
        core = d.app.core
        d.until(lambda: core.state.online and not core.state.syncing, timeout=60)
        device = core.require_device()
        photo = device.photos.add_bytes(photo_bytes(1))
        core.queue_photos([photo])
        for i in range(records):
            lat = INSPECTOR_POINT[0] + (i % 40 - 20) * 2e-6
            form = ReportForm([photo.sha256], from_gps(lat, INSPECTOR_POINT[1]), "SJ0101",
                              f"bench {i}", photo_required=True)  # fmt: skip
            device.local.record(REPORT, form.validated_args())
        core.refresh_state()
        idle: list[float] = []  # the same loop with nothing syncing: what the machine allows
        idle_wait: list[float] = []
        last, waited = time.perf_counter(), _runqueue_wait()
        while sum(idle) < idle_seconds:
            d.loop.idle()
            now, was = time.perf_counter(), waited
            waited = _runqueue_wait()
            idle.append(now - last)
            idle_wait.append(waited - was)
            last = now
        frames: list[float] = []
        frame_wait: list[float] = []
        import gc

        pauses: list[float] = []
        gc_start = [0.0]

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_start[0] = time.perf_counter()
            elif info["generation"] == 2:
                pauses.append(time.perf_counter() - gc_start[0])

        gc.callbacks.append(on_gc)
        slow: list[tuple[float, str]] = []
        trace = bool(os.environ.get("CGT_BENCH_TRACE"))
        samples = _StackSampler() if trace else None
        last, waited = time.perf_counter(), _runqueue_wait()
        core.sync_now()
        started = last
        while True:
            d.loop.idle()
            now, was = time.perf_counter(), waited
            waited = _runqueue_wait()
            frames.append(now - last)
            frame_wait.append(waited - was)
            if now - last > 0.05 and trace:
                slow.append((now - last, core.state.syncing and "sync" or "idle"))
                if samples is not None:
                    samples.show(last, now, started)
            last = now
            if not core.state.syncing and core.state.waiting == 0 and len(frames) > 5:
                break
            if now - started > 600:
                raise SystemExit("sync did not finish in 10 minutes")
        sync_seconds = time.perf_counter() - started
        if samples is not None:
            samples.stop()
        gc.callbacks.remove(on_gc)
        if os.environ.get("CGT_BENCH_TRACE"):
            print("gen2 gc pauses ms:", sorted(round(p * 1000) for p in pauses)[-10:])
            print("slow frames:", sorted(slow)[-10:])
        d.close()
        # The same phone started again: signed in, its cases on the device, the server up.
        signed_in = cold_starts(signed_in_starts, tmp / "phone", screen="patrol")
    frames_ms = sorted(f * 1000 for f in frames)
    idle_ms = sorted(f * 1000 for f in idle)
    # a frame's wall time less the time its thread was ready but not run (the OS ran others)
    own_ms = sorted((f - w) * 1000 for f, w in zip(frames, frame_wait, strict=True))
    idle_own_ms = sorted((f - w) * 1000 for f, w in zip(idle, idle_wait, strict=True))
    return {
        "signed_in_starts": signed_in,
        "own_over_50ms": sum(f > 50 for f in own_ms),
        "own_max_ms": round(own_ms[-1], 1),
        "idle_own_max_ms": round(idle_own_ms[-1], 1),
        "runqueue_wait_ms": round(sum(frame_wait) * 1000),
        "idle_frames": len(idle_ms),
        "idle_max_ms": round(idle_ms[-1], 1),
        "idle_over_50ms_share": round(sum(f > 50 for f in idle_ms) / len(idle_ms) * 100, 2),
        "over_50ms_share": round(sum(f > 50 for f in frames_ms) / len(frames_ms) * 100, 2),
        "records": records,
        "sync_seconds": round(sync_seconds, 2),
        "frames": len(frames_ms),
        "frame_median_ms": round(statistics.median(frames_ms), 1),
        "frame_p99_ms": round(frames_ms[int(len(frames_ms) * 0.99) - 1], 1),
        "frame_max_ms": round(frames_ms[-1], 1),
        "frames_over_50ms": sum(f > 50 for f in frames_ms),
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench mobile", description=__doc__.split("\n")[0])
    p.add_argument("--starts", type=int, default=5)
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--idle", type=float, default=IDLE_SECONDS, help="seconds of the idle loop")
    p.add_argument("--gil-switch", type=float, default=None, metavar="MS",
                   help="the GIL switch interval during the sync (Python's default: 5)")
    args = p.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        print("bench mobile: no display; run it under .ci/with-display.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cgt-bench-mobile-") as scratch:
        return _run(args, Path(scratch))


def _run(args: argparse.Namespace, tmp: Path) -> int:
    if args.starts:
        starts, bare = [], []
        for _ in range(args.starts):  # interleaved, so both see the same machine
            starts += cold_starts(1, tmp / "cold", screen="signin")
            bare += cold_starts(1, tmp / "cold", BARE)
        app_s, bare_s = statistics.median(starts), statistics.median(bare)
        ok_start = app_s <= 1.5
        print(f"cold start to sign-in screen: median {app_s:.2f} s, max {max(starts):.2f} s "
              f"over {len(starts)} starts (target ≤ 1.5 s: {'MET' if ok_start else 'MISSED'}); "
              f"bare Kivy window with one Chinese label: median {bare_s:.2f} s; "
              f"app/bare {app_s / bare_s:.2f}, the app's own share {app_s - bare_s:.2f} s")
    if not args.records:
        return 0
    result = frames_while_syncing(
        args.records, tmp / "frames", args.idle, args.gil_switch, args.starts
    )
    ok_frames = result["frames_over_50ms"] == 0
    print(f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms")
    print(f"sync of {result['records']} records: {result['sync_seconds']} s, "
          f"{result['frames']} frames, median {result['frame_median_ms']} ms, "
          f"p99 {result['frame_p99_ms']} ms, max {result['frame_max_ms']} ms, "
          f"over 50 ms: {result['frames_over_50ms']} ({result['over_50ms_share']}%) "
          f"(target none: {'MET' if ok_frames else 'MISSED'}); the same loop idle: "
          f"{result['idle_frames']} frames, max {result['idle_max_ms']} ms, "
          f"over 50 ms: {result['idle_over_50ms_share']}%")  # fmt: skip
    print(f"  less the UI thread's wait for a CPU (runqueue, {result['runqueue_wait_ms']} ms in "
          f"all): sync frames over 50 ms: {result['own_over_50ms']}, max {result['own_max_ms']} "
          f"ms; idle max {result['idle_own_max_ms']} ms")  # fmt: skip
    if result["signed_in_starts"]:
        signed = result["signed_in_starts"]
        print(f"cold start signed in, to the patrol screen ({result['records']} cases on the "
              f"phone): median {statistics.median(signed):.2f} s, max {max(signed):.2f} s over "
              f"{len(signed)} starts (target ≤ 1.5 s: "
              f"{'MET' if statistics.median(signed) <= 1.5 else 'MISSED'})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
