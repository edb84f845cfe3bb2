"""P9: image transformations per second with a cold cache, and the servers' peak memory: Filedock's
CDN pipeline against thumbor 7.8.0 and plain Pillow, all three over HTTP at the same concurrency.

    .venv/bin/python bench/transforms.py [--seconds 5] [--rounds 2] [--workers 2] [--repeat 5]

One source picture for everyone: a 4000×3000 JPEG (quality 90, about 5 MB) made here from
gradients, blotches at two scales, hard-edged shapes and grain, so it compresses like a photo.
Three workloads, the same work for each engine:

  resize   to 800 px wide, WebP quality 75. Filedock `-/resize/800x/-/format/webp/`,
           thumbor `800x0/filters:format(webp):quality(75)`.
  chain    a centred 2000×1500 crop, a quarter turn counter-clockwise, an automatic tone
           enhancement, JPEG quality 75. Filedock `-/crop/2000x1500/center/-/rotate/90/-/enhance/50/`
           (levels stretched from the 1st to the 99th luminance percentile plus 15 % saturation,
           mixed in at 50 %). thumbor has no such filter: `1000x750:3000x2250` is the same
           rectangle, then `filters:rotate(90):equalize():saturation(1.15):quality(75)`;
           equalize() is its automatic whole-picture tone filter (a histogram pass and a lookup
           table, like the stretch) but flattens the histogram fully, so its answer is harsher
           and larger. Plain Pillow: autocontrast(cutoff=1, preserve_tone) and Color 1.15, blended
           in at 50 %: the same look as Filedock's.
  preview  fitted in 2048×2048, JPEG quality 85. Filedock `-/preview/2048x2048/`,
           thumbor `fit-in/2048x2048/filters:quality(85)`.

Servers, each with `--workers` processes (2 for the 2 cores), and a client of as many threads, so
each server always has one request per process in hand:
  Filedock  production settings (PostgreSQL, Redis, local disk) on gunicorn, GET /cdn/<uuid>/<ops>;
            the rendering is saved to storage and sent from there, as on any first request.
  thumbor   its own server (`thumbor --processes N`) from its own virtualenv (bench/.venv-thumbor,
            made here on first use: its pins are not the project's), file_loader reading the
            same JPEG from FILE_LOADER_ROOT_PATH, no original storage, no result storage.
  Pillow    a minimal WSGI app (`pillow_app` below: the Pillow path files/cdn/images.py had,
            with nothing around it) on the same gunicorn command.
All three are up at once and take turns per workload, `--rounds` times; the best rate and CPU of
the rounds are kept (the least disturbed), and the largest peak.

Cold cache: Filedock keeps each rendering under the file's uuid, so the JPEG is uploaded once and
its row cloned (new uuid, same stored bytes) once per request: every request is the first for its
file, reads the same stored JPEG, renders and saves anew, as on a cold CDN. thumbor without
storages and the Pillow app keep nothing, so they get the same URL every time. The source is in
the page cache for all three.

Peak memory: each server's processes (the supervisor and its workers) have their kernel peak RSS
(VmHWM) reset before a workload and read after it; the figure is their sum, with the growth over
their RSS just before it (the work's own memory, without the server's idle imports). Throughput
counts the requests completed after two warm-up requests per client thread, over their wall time.
Server CPU per request is steadier than the rate when other work shares the 2 cores (the last line
says how many cores were busy beside the server under test), and "from CPU per request" is the
throughput ratio the servers would show with the cores to themselves. Beside the HTTP figures the
same renders are timed in one process per engine (no HTTP, no database; CPU counts all of the
process's threads): files.cdn.images.render against the Pillow function, with the peak RSS growth
of the work alone.
"""

import argparse
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    PYTHON,
    ROOT,
    Process,
    Server,
    bootstrap,
    cpu_seconds,
    header,
    production_env,
    redis_server,
    row,
    scratch_database,
    workdir,
)

THUMBOR_VERSION = "7.8.0"
THUMBOR_VENV = Path(os.environ.get("BENCH_THUMBOR_VENV", Path(__file__).resolve().parent / ".venv-thumbor"))
SOURCE_SIZE = (4000, 3000)
SOURCE_NAME = "photo.jpg"
WARMUP = 2  # requests per client thread before the clock starts
CLONES_PER_SECOND = 60  # Filedock rows per measured second (per workload): more than any engine renders


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    filedock: str  # the CDN operations after /cdn/<uuid>/
    thumbor: str  # the thumbor URL between /unsafe/ and the image path
    size: tuple[int, int]  # what every engine must give
    mime: str


WORKLOADS = [
    Workload(
        "resize",
        "4000×3000 JPEG → 800 px wide WebP",
        "-/resize/800x/-/format/webp/",
        "800x0/filters:format(webp):quality(75)",
        (800, 600),
        "image/webp",
    ),
    Workload(
        "chain",
        "crop 2000×1500 centre + rotate 90 + enhance → JPEG",
        "-/crop/2000x1500/center/-/rotate/90/-/enhance/50/",
        "1000x750:3000x2250/filters:rotate(90):equalize():saturation(1.15):quality(75)",
        (1500, 2000),
        "image/jpeg",
    ),
    Workload(
        "preview",
        "preview 2048×2048 → JPEG",
        "-/preview/2048x2048/",
        "fit-in/2048x2048/filters:quality(85)",
        (2048, 1536),
        "image/jpeg",
    ),
]


# --- the plain Pillow engine (the path being replaced), also served as a WSGI app ----------------


def pillow_render(source, workload: str) -> tuple[bytes, str]:
    """The Pillow path files/cdn/images.py had (a draft-mode decode for the preview, LANCZOS with
    reducing_gap 3, the same encoder options), with the same enhance look as Filedock's, and
    nothing around it."""
    with Image.open(source) as image:
        if workload == "preview":
            target = _fit(image.size, (2048, 2048))
            image.draft("RGB", (target[0] * 2, target[1] * 2))  # reduced-scale JPEG decode where it can
            image = image.convert("RGB").resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
            kind, options = "JPEG", {"quality": 85, "optimize": True}
        elif workload == "resize":
            image = image.convert("RGB")
            height = max(1, round(image.height * 800 / image.width))
            image = image.resize((800, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
            kind, options = "WEBP", {"quality": 75}
        elif workload == "chain":
            image = image.convert("RGB")
            width, height = min(2000, image.width), min(1500, image.height)
            left, top = (image.width - width) // 2, (image.height - height) // 2
            image = image.crop((left, top, left + width, top + height)).transpose(Image.Transpose.ROTATE_90)
            # enhance 50: levels stretched from the 1st to the 99th luminance percentile, a little
            # more saturation, mixed in at 50 % (what files/cdn/pixels.py's enhance does)
            enhanced = ImageEnhance.Color(ImageOps.autocontrast(image, cutoff=1, preserve_tone=True)).enhance(1.15)
            image = Image.blend(image, enhanced, 0.5)
            kind, options = "JPEG", {"quality": 75, "optimize": True}
        else:
            raise KeyError(workload)
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue(), f"image/{kind.lower()}"


def _fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    scale = min(box[0] / size[0], box[1] / size[1], 1.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def pillow_app(environ, start_response):
    """GET /<workload>/<anything>: the workload rendered from BENCH_SOURCE; GET /healthz: ok."""
    name = environ.get("PATH_INFO", "/").strip("/").split("/")[0]
    if name == "healthz":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    try:
        with open(os.environ["BENCH_SOURCE"], "rb") as source:
            data, mime = pillow_render(source, name)
    except KeyError:
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "0")])
        return [b""]
    start_response("200 OK", [("Content-Type", mime), ("Content-Length", str(len(data)))])
    return [data]


# --- the source picture ---------------------------------------------------------------------------


def make_photo(path: Path, size: tuple[int, int] = SOURCE_SIZE) -> None:
    """A JPEG (quality 90) that compresses like a photo: gradients, soft blotches at two scales,
    some hard-edged shapes and sensor grain. Seeded, so every run decodes the same bytes."""
    width, height = size
    rng = random.Random(9)

    def blotches(cell: int) -> Image.Image:
        small = (max(2, width // cell), max(2, height // cell))
        return Image.frombytes("L", small, rng.randbytes(small[0] * small[1])).resize(size, Image.Resampling.BICUBIC)

    across = Image.linear_gradient("L").rotate(90).resize(size)
    down = Image.linear_gradient("L").resize(size)
    channels = []
    for gradient in (across, down, ImageChops.invert(across)):
        channel = Image.blend(gradient, blotches(160), 0.45)
        channels.append(Image.blend(channel, blotches(6), 0.2))
    image = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, 300)
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x - r, y - r, x + r, y + r // 2), fill=colour)
    image = Image.blend(image, image.resize((width // 3, height // 3)).resize(size, Image.Resampling.BICUBIC), 0.3)
    grain = Image.merge("RGB", [Image.effect_noise(size, 10)] * 3)
    image = ImageChops.add(image, grain, scale=1.0, offset=-128)
    image.save(path, "JPEG", quality=90)


# --- servers --------------------------------------------------------------------------------------


def thumbor_bin() -> Path:
    """bench/.venv-thumbor/bin/thumbor at THUMBOR_VERSION, making the virtualenv on first use."""
    binary, python = THUMBOR_VENV / "bin" / "thumbor", THUMBOR_VENV / "bin" / "python"
    if binary.exists():
        found = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
        if f"v{THUMBOR_VERSION} " in found:
            return binary
    print(f"bench: installing thumbor {THUMBOR_VERSION} into {THUMBOR_VENV} ...", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", THUMBOR_VENV], check=True)
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"thumbor=={THUMBOR_VERSION}"],
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        raise RuntimeError(f"pip install thumbor=={THUMBOR_VERSION} failed:\n{install.stdout}{install.stderr}")
    return binary


def thumbor_conf(path: Path, root: Path) -> Path:
    path.write_text(
        "\n".join(
            [
                "LOADER = 'thumbor.loaders.file_loader'",
                f"FILE_LOADER_ROOT_PATH = {str(root)!r}",
                "STORAGE = 'thumbor.storages.no_storage'",
                "RESULT_STORAGE = None",
                "ALLOW_UNSAFE_URL = True",
                "QUALITY = 75",
                "PILLOW_RESAMPLING_FILTER = 'LANCZOS'",
                "RESPECT_ORIENTATION = False",
                "PRESERVE_EXIF_INFO = False",
                "",
            ]
        )
    )
    return path


# --- memory and load ------------------------------------------------------------------------------


def peak_reset(pids: list[int]) -> None:
    """Sets each process's peak RSS (VmHWM) back to its current RSS (Linux 4.0+, clear_refs 5)."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def status_kib(pids: list[int], name: str) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(name + ":"):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=300) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def load(urls: list[str], threads: int, seconds: float, expect_mime: str) -> tuple[int, float]:
    """GETs the URLs in order from `threads` threads until they run out or `seconds` have passed
    (in-flight requests finish); returns (requests completed, wall seconds)."""
    lock, pending, done, failures = threading.Lock(), iter(urls), [0], []
    started = time.perf_counter()
    deadline = started + seconds

    def client() -> None:
        while time.perf_counter() < deadline and not failures:
            with lock:
                url = next(pending, None)
            if url is None:
                return
            status, mime, body = fetch(url)
            if status != 200 or mime != expect_mime:
                failures.append(f"{url}: {status} {mime} {body[:200]!r}")
                return
            with lock:
                done[0] += 1

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise RuntimeError("bad answer: " + failures[0])
    return done[0], time.perf_counter() - started


@dataclass
class Figures:
    rate: float = 0.0  # requests per second
    cpu_ms: float = 0.0  # the server processes' CPU per request
    peak_mib: float = 0.0  # sum of the server processes' peak RSS over the workload
    growth_mib: float = 0.0  # that peak less their RSS just before the workload
    others: float = 0.0  # cores busy with anything but the server (client, database, other work)
    output: tuple = ()  # (width, height, bytes) of one answer
    note: str = ""  # why there are no figures

    def best(self, other: "Figures | None") -> "Figures":
        """Of two rounds: the less disturbed rate and CPU, the larger peak."""
        if other is None or self.note:
            return self
        return Figures(
            rate=max(self.rate, other.rate),
            cpu_ms=min(self.cpu_ms, other.cpu_ms),
            peak_mib=max(self.peak_mib, other.peak_mib),
            growth_mib=max(self.growth_mib, other.growth_mib),
            others=(self.others + other.others) / 2,
            output=self.output,
        )


def busy_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    clock = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / clock, sum(ticks) / clock


def measure(server, urls: list[str], workload: Workload, threads: int, seconds: float) -> Figures:
    """Warm-up, then the timed run, on fresh URLs (the first `threads * WARMUP` are the warm-up)."""
    pids = server.pids()
    before = status_kib(pids, "VmRSS")
    peak_reset(pids)
    status, mime, body = fetch(urls[0])
    if status != 200:
        return Figures(note=f"{status}: {body.decode(errors='replace').strip()[:70]}")
    with Image.open(io.BytesIO(body)) as image:
        output = (*image.size, len(body))
        assert image.size == workload.size and mime == workload.mime, (workload.name, image.size, mime)
    load(urls[1 : 1 + threads * WARMUP], threads, 600, workload.mime)
    cpu, (busy, _) = cpu_seconds(pids), busy_seconds()
    count, wall = load(urls[1 + threads * WARMUP :], threads, seconds, workload.mime)
    server_cpu, (busy_after, _) = cpu_seconds(pids) - cpu, busy_seconds()
    return Figures(
        rate=count / wall,
        cpu_ms=server_cpu * 1000 / count,
        peak_mib=status_kib(pids, "VmHWM") / 1024,
        growth_mib=(status_kib(pids, "VmHWM") - before) / 1024,
        others=max(0.0, (busy_after - busy - server_cpu) / wall),
        output=output,
    )


def idle_mib(server) -> float:
    return status_kib(server.pids(), "VmRSS") / 1024


# --- Filedock's rows --------------------------------------------------------------------------------


def upload(base: str, public_key: str, data: bytes) -> str:
    boundary = uuid.uuid4().hex
    fields = [("UPLOADCARE_PUB_KEY", public_key), ("UPLOADCARE_STORE", "1")]
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{SOURCE_NAME}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    request = urllib.request.Request(
        f"{base}/upload/base/",
        b"".join(parts) + f"--{boundary}--\r\n".encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request) as response:
        return re.search(r'"file": "([0-9a-f-]+)"', response.read().decode()).group(1)


def clone_rows(database_url: str, file_id: str, count: int) -> list[str]:
    """`count` more rows for the uploaded file: new uuids, the same stored bytes and image_info."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        columns = [
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'files_file' "
                "ORDER BY ordinal_position"
            )
        ]
        others = ", ".join(f'"{name}"' for name in columns if name != "uuid")
        rows = conn.execute(
            f'INSERT INTO files_file ("uuid", {others}) SELECT gen_random_uuid(), {others} '
            "FROM files_file, generate_series(1, %s) WHERE uuid = %s RETURNING uuid",
            [count, file_id],
        ).fetchall()
    return [str(value) for (value,) in rows]


# --- in one process ---------------------------------------------------------------------------------


def in_process(source: Path, repeat: int, engine: str) -> dict:
    """Each workload rendered `repeat` times by one engine in this process (a child of the run,
    one per engine, so neither inherits the other's heap): the best wall and CPU milliseconds
    (CPU of all the process's threads: libvips has its own), and the peak RSS above the RSS before.
    Filedock's is files.cdn.images.render, with Django set up as in a web process."""
    render = pillow_render
    if engine == "filedock":
        import django

        sys.path.insert(1, str(ROOT))  # config and files, as gunicorn finds them
        django.setup()
        from files.cdn import images

        def plan_of(workload: Workload):
            if workload.name == "preview":
                return images.parse_preview("2048x2048")  # what the preview URL's view plans
            return images.parse(workload.filedock)[0]

    results: dict = {"pyvips": False}
    for workload in WORKLOADS:
        if engine == "filedock":
            try:
                plan = plan_of(workload)
            except ValueError as exc:
                results[workload.name] = {"note": str(exc)}
                continue
            render = lambda fileobj, _, plan=plan: images.render(fileobj, plan)  # noqa: E731
        pids = [os.getpid()]
        before = status_kib(pids, "VmRSS")
        peak_reset(pids)
        walls, cpus = [], []
        for _ in range(repeat):
            with open(source, "rb") as fileobj:
                wall, cpu = time.perf_counter(), time.process_time()
                render(fileobj, workload.name)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
        results[workload.name] = {
            "wall": min(walls) * 1000,
            "cpu": min(cpus) * 1000,
            "growth": (status_kib(pids, "VmHWM") - before) / 1024,
        }
    results["pyvips"] = "pyvips" in sys.modules
    return results


def one_process(engine: str, source: Path, repeat: int, env: dict) -> dict:
    child = subprocess.run(
        [PYTHON, __file__, "--in-process", engine, str(source), "--repeat", str(repeat)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        raise RuntimeError(f"the in-process timing of {engine} failed:\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])


# --- the run ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="measured seconds per engine, workload and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the engines (best rate and CPU kept)")
    parser.add_argument("--workers", type=int, default=2, help="server processes, and client threads")
    parser.add_argument("--repeat", type=int, default=5, help="in-process renders per figure (best is kept)")
    parser.add_argument("--in-process", nargs=2, metavar=("ENGINE", "SOURCE"), help=argparse.SUPPRESS)  # a child
    args = parser.parse_args()
    if args.in_process:
        print(json.dumps(in_process(Path(args.in_process[1]), args.repeat, args.in_process[0])))
        return

    thumbor = thumbor_bin()
    work = workdir("transforms")
    images_dir = work / "images"
    images_dir.mkdir()
    source = images_dir / SOURCE_NAME
    make_photo(source)
    n = args.workers
    per_run = 1 + n * WARMUP + int(args.seconds * CLONES_PER_SECOND)
    results: dict[str, dict[str, Figures]] = {w.name: {} for w in WORKLOADS}
    try:
        with scratch_database("transforms") as database_url, redis_server() as redis_url:
            env = production_env(database_url, redis_url, work)
            keys = bootstrap(env)
            thumbor_argv = [str(thumbor), "-i", "127.0.0.1", "-p", "{port}", "-l", "error", "--processes", str(n)]
            thumbor_argv += ["-c", str(thumbor_conf(work / "thumbor.conf", images_dir))]
            pillow_argv = [PYTHON, "-m", "gunicorn", "bench.transforms:pillow_app", "-b", "127.0.0.1:{port}"]
            pillow_argv += ["-w", str(n), "--timeout", "600", "--log-level", "warning"]
            # All three are up at once (idle ones cost nothing) and take turns, round after round,
            # so that other work on the machine falls on each of them alike.
            with (
                Process(thumbor_argv, {**os.environ}, "/healthcheck") as thumbor_server,
                Process(pillow_argv, {**env, "BENCH_SOURCE": str(source)}, "/healthz") as pillow_server,
                Server(env, workers=n) as filedock_server,
            ):
                servers = {"thumbor": thumbor_server, "pillow": pillow_server, "filedock": filedock_server}
                idle = {name: idle_mib(server) for name, server in servers.items()}
                file_id = upload(filedock_server.base, keys["public_key"], source.read_bytes())

                def urls(engine: str, w: Workload) -> list[str]:
                    if engine == "thumbor":
                        return [f"{thumbor_server.base}/unsafe/{w.thumbor}/{SOURCE_NAME}"] * per_run
                    if engine == "pillow":
                        return [f"{pillow_server.base}/{w.name}/{i}" for i in range(per_run)]
                    fresh = clone_rows(database_url, file_id, per_run)  # a first request for each
                    return [f"{filedock_server.base}/cdn/{i}/{w.filedock}" for i in fresh]

                for w in WORKLOADS:
                    for _ in range(args.rounds):
                        for engine, server in servers.items():
                            figures = measure(server, urls(engine, w), w, n, args.seconds)
                            results[w.name][engine] = figures.best(results[w.name].get(engine))

            single = {engine: one_process(engine, source, args.repeat, env) for engine in ("pillow", "filedock")}

        report(results, idle, single, args, source.stat().st_size)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict, idle: dict, single: dict, args, source_bytes: int) -> None:
    n = args.workers
    header(
        "P9",
        f"image transformations with a cold cache, {n} client threads, {n} server processes each, "
        f"best of {args.rounds} rounds of {args.seconds:g} s "
        f"(Filedock's pipeline: {'libvips' if single['filedock']['pyvips'] else 'Pillow'})",
    )
    print(f"  source: {SOURCE_SIZE[0]}×{SOURCE_SIZE[1]} JPEG q90, {source_bytes / 1e6:.1f} MB", flush=True)
    names = {"thumbor": f"thumbor {THUMBOR_VERSION}", "pillow": "plain Pillow (gunicorn)", "filedock": "Filedock CDN"}
    for w in WORKLOADS:
        figures = results[w.name]
        thumbor, pillow, filedock = figures["thumbor"], figures["pillow"], figures["filedock"]
        print(f"\n  -- {w.name}: {w.title}", flush=True)
        for key in ("thumbor", "pillow", "filedock"):
            fig = figures[key]
            if fig.output:
                width, height, size = fig.output
                print(f"     {names[key]:<24} answers {width}×{height}, {size / 1000:7.1f} KB", flush=True)
        row("thumbor: transformations per second", thumbor.rate, "req/s")
        row("plain Pillow: transformations per second", pillow.rate, "req/s", thumbor.rate)
        if filedock.note:
            print(f"  {'Filedock: not measured, its answer was':<52} {filedock.note}", flush=True)
        else:
            row("Filedock: transformations per second", filedock.rate, "req/s", thumbor.rate, "≥ 2×")
            row("Filedock ÷ plain Pillow, per second", filedock.rate / pillow.rate, "×")
        row("thumbor: peak RSS, all its processes", thumbor.peak_mib, "MiB")
        row("plain Pillow: peak RSS, all its processes", pillow.peak_mib, "MiB", thumbor.peak_mib)
        if not filedock.note:
            row("Filedock: peak RSS, all its processes", filedock.peak_mib, "MiB", thumbor.peak_mib, "≤ 0.5×")
            row("Filedock ÷ plain Pillow, peak RSS", filedock.peak_mib / pillow.peak_mib, "×")
        # What the work itself holds, without what each server holds idle (Django's imports are most of that).
        row("thumbor: peak RSS above RSS before the workload", thumbor.growth_mib, "MiB")
        row("plain Pillow: peak RSS above RSS before", pillow.growth_mib, "MiB", thumbor.growth_mib)
        if not filedock.note:
            row("Filedock: peak RSS above RSS before", filedock.growth_mib, "MiB", thumbor.growth_mib)
        # Server CPU per request: steadier than req/s when other work shares the cores.
        row("thumbor: server CPU per request", thumbor.cpu_ms, "ms")
        row("plain Pillow: server CPU per request", pillow.cpu_ms, "ms", thumbor.cpu_ms)
        if not filedock.note:
            row("Filedock: server CPU per request", filedock.cpu_ms, "ms", thumbor.cpu_ms)
            # The throughput ratio the CPU figures give, where the servers have the cores to themselves.
            from_cpu = thumbor.cpu_ms / filedock.cpu_ms
            row("Filedock ÷ thumbor throughput, from CPU per request", from_cpu, "×", None, "≥ 2×")
        # The same renders in one process, no HTTP and no database: what serving adds, and the
        # work's own memory without any server's idle footprint.
        pillow_one, filedock_one = single["pillow"][w.name], single["filedock"][w.name]
        row("in one process: plain Pillow, wall per render", pillow_one["wall"], "ms")
        if "note" not in filedock_one:
            row("in one process: Filedock images.render, wall", filedock_one["wall"], "ms", pillow_one["wall"])
        row("in one process: plain Pillow, CPU per render", pillow_one["cpu"], "ms")
        if "note" not in filedock_one:
            row("in one process: Filedock images.render, CPU", filedock_one["cpu"], "ms", pillow_one["cpu"])
        row("in one process: plain Pillow, peak RSS growth", pillow_one["growth"], "MiB")
        if "note" not in filedock_one:
            row("in one process: Filedock images.render, growth", filedock_one["growth"], "MiB", pillow_one["growth"])
    print("", flush=True)
    row("idle RSS before any request: thumbor", idle["thumbor"], "MiB")
    row("idle RSS before any request: plain Pillow", idle["pillow"], "MiB", idle["thumbor"])
    row("idle RSS before any request: Filedock", idle["filedock"], "MiB", idle["thumbor"])
    others = [fig.others for figures in results.values() for fig in figures.values() if not fig.note]
    # The client, PostgreSQL and Redis, and whatever else runs here: high means noisy req/s figures.
    row("cores busy beside the server under test, mean", sum(others) / len(others), "cores")


if __name__ == "__main__":
    main()
