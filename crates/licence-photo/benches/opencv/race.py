"""Times `licence photo crop` against the OpenCV-Python pipeline (pipeline.py) on one photo, as
whole processes, alternating, and prints medians, the ratio and each one's peak memory. The
pipeline runs twice: as the issue's baseline (a full-size decode), and with the half-size
decode ours uses on a large JPEG (pipeline.py --reduced), so both ratios come from one run.

Usage: race.py LICENCE_BINARY PHOTO RUNS [BASE_LICENCE_BINARY]   (run by `cargo xtask bench-photo`)

With BASE_LICENCE_BINARY (e.g. a build of an earlier commit in a worktree), that binary runs
in the same rotation too, and the ratio of the two `licence` binaries is printed as well."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

binary, photo, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = sys.argv[4] if len(sys.argv) > 4 else None
out = tempfile.mkdtemp(prefix="bench-photo-")
pipeline = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pipeline.py")
commands = {
    "licence photo crop": [binary, "photo", "crop", photo, "--out", f"{out}/ours.jpg"],
    "opencv-python pipeline": [sys.executable, pipeline, photo, f"{out}/opencv.jpg"],
    "opencv-python, ½ decode": [sys.executable, pipeline, photo, f"{out}/half.jpg", "--reduced"],
}
if base:
    commands["licence photo crop, base"] = [base, "photo", "crop", photo, "--out", f"{out}/base.jpg"]


def run(command):
    """Wall time in ms and peak resident memory in MiB of one process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = (time.perf_counter() - started) * 1000
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{command} exited with {child.returncode}")
    return elapsed, usage.ru_maxrss / 1024


times = {name: [] for name in commands}
peaks = {name: 0.0 for name in commands}
for name, command in commands.items():
    run(command)  # warm the page cache and the Python bytecode cache
for i in range(runs):
    # Rotate which goes first, so that a drift of the machine's speed hits all alike.
    order = list(commands.items())
    order = order[i % len(order) :] + order[: i % len(order)]
    for name, command in order:
        elapsed, peak = run(command)
        times[name].append(elapsed)
        peaks[name] = max(peaks[name], peak)

medians = {name: statistics.median(t) for name, t in times.items()}
for name in commands:
    t = sorted(times[name])
    print(f"{name:24} median {medians[name]:6.1f} ms (min {t[0]:.1f}, max {t[-1]:.1f}), peak {peaks[name]:.1f} MiB")
ours = medians["licence photo crop"]
for baseline in [name for name in commands if name != "licence photo crop"]:
    print(f"ratio (ours / {baseline}, medians of {runs}): {ours / medians[baseline]:.3f}")
