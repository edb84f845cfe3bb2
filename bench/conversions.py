"""P11: document and video conversions through Filedock's jobs against running `soffice` and
`ffmpeg` directly on the same files.

    .venv/bin/python bench/conversions.py [--documents 10] [--videos 4] [--seconds 5]

On a scratch PostgreSQL database and local disk storage (production settings), N documents (an
.odt of a few paragraphs, made as the tests make them) and M videos (H.264 MP4 with sound,
640×360, from ffmpeg's test pattern) are uploaded. Then, one conversion at a time on each side:

- baseline: `soffice --convert-to pdf` of each stored .odt, with a profile of its own per run as
  Filedock runs it; and `ffmpeg` encoding each stored MP4 to WebM with the same options;
  each file is converted by the baseline and then by Filedock before the next one;
- filedock: the job of each path `{uuid}/document/-/format/pdf/` and
  `{uuid}/video/-/format/webm/-/thumbs~1/` as a worker runs it (files.conversions.jobs.conversion_run:
  claim, copy from storage, the tool, the result through the upload service with its events and
  metering; a video's job also reads its length with ffprobe and takes one thumbnail, made a file
  in a group).

It prints conversions per minute on each side and Filedock's own time per conversion; with
--shared-profile also soffice reusing one warm profile (what a separate profile per job costs).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bootstrap, header, production_env, redis_server, row, scratch_database, workdir
from tests.files.conversions.samples import mp4, odt

PARAGRAPHS = [f"Paragraph {n}: the quick brown fox jumps over the lazy dog. " * 6 for n in range(40)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5, help="length of each video")
    parser.add_argument("--shared-profile", action="store_true", help="also soffice with one warm profile")
    args = parser.parse_args()

    work = workdir("conversions")
    with scratch_database("conversions") as database_url, redis_server() as redis_url:
        env = production_env(database_url, redis_url, work)
        keys = bootstrap(env)
        os.environ.update(env)
        run(keys["project_id"], args, work)


def run(project_id: str, args, work: Path) -> None:
    import django

    django.setup()
    from django.core.files.base import ContentFile

    from files.conversions.jobs import conversion_run, conversions_create
    from files.conversions.video import CODECS
    from files.models import Conversion, File
    from files.services import file_upload
    from projects.models import Project

    project = Project.objects.get(pk=project_id)
    document = odt(*PARAGRAPHS)
    clip = mp4(seconds=args.seconds, size="640x360")
    docs = [
        file_upload(project=project, content=ContentFile(document, name=f"d{i}.odt"), filename=f"d{i}.odt", store=True)
        for i in range(args.documents)
    ]
    videos = [
        file_upload(project=project, content=ContentFile(clip, name=f"v{i}.mp4"), filename=f"v{i}.mp4", store=True)
        for i in range(args.videos)
    ]
    media = work / "media"

    header(
        "P11", f"conversions, one at a time: {args.documents} .odt → PDF, {args.videos} × {args.seconds:g} s MP4 → WebM"
    )
    out = Path(tempfile.mkdtemp(prefix="bench-soffice-"))
    if args.shared_profile:
        started = time.perf_counter()
        for index, file in enumerate(docs):
            soffice(media / file.storage_key, out / f"s{index}", out / "shared", suffix=".odt")
        row("soffice, one warm profile: documents/min", 60 * len(docs) / (time.perf_counter() - started), "/min")

    # Each file in turn on both sides, so a machine that gets busier or quieter meanwhile weighs
    # on both alike.
    document_jobs = conversions_create(
        project=project, kind="document", paths=[f"{file.uuid}/document/-/format/pdf/" for file in docs]
    ).conversions
    video_jobs = conversions_create(
        project=project, kind="video", paths=[f"{file.uuid}/video/-/format/webm/-/thumbs~1/" for file in videos]
    ).conversions
    soffice_direct = filedock_documents = ffmpeg_direct = filedock_videos = 0.0
    statuses = []
    for index, (file, job) in enumerate(zip(docs, document_jobs, strict=True)):
        started = time.perf_counter()
        soffice(media / file.storage_key, out / f"o{index}", out / f"profile-{index}", suffix=".odt")
        soffice_direct += time.perf_counter() - started
        started = time.perf_counter()
        statuses.append(conversion_run(token=job.pk))
        filedock_documents += time.perf_counter() - started

    video_options, quality_flag, qualities, audio_options = CODECS["webm"]
    for index, (file, job) in enumerate(zip(videos, video_jobs, strict=True)):
        command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(media / file.storage_key)]
        command += ["-map", "0:v:0", "-map", "0:a:0?", *video_options, quality_flag, str(qualities["normal"])]
        started = time.perf_counter()
        subprocess.run([*command, *audio_options, str(out / f"v{index}.webm")], check=True, timeout=600)
        ffmpeg_direct += time.perf_counter() - started
        started = time.perf_counter()
        statuses.append(conversion_run(token=job.pk))
        filedock_videos += time.perf_counter() - started

    assert set(statuses) == {"finished"}, list(Conversion.objects.exclude(status="finished").values("path", "error"))
    assert File.objects.filter(source="conversion", mime_type="application/pdf").count() == len(docs)
    assert File.objects.filter(source="conversion", mime_type="video/webm").count() == len(videos)
    n, m = len(docs), len(videos)
    row("soffice --convert-to pdf (own profile): documents/min", 60 * n / soffice_direct, "/min")
    row("filedock document jobs: documents/min", 60 * n / filedock_documents, "/min", 60 * n / soffice_direct)
    row("  per document: filedock's own work beyond soffice", (filedock_documents - soffice_direct) / n * 1000, "ms")
    row("ffmpeg → webm: videos/min", 60 * m / ffmpeg_direct, "/min")
    row(
        "filedock video jobs (+ffprobe, 1 thumb): videos/min",
        60 * m / filedock_videos,
        "/min",
        60 * m / ffmpeg_direct,
    )
    row("  per video: filedock's own work beyond ffmpeg", (filedock_videos - ffmpeg_direct) / m * 1000, "ms")


def soffice(source: Path, outdir: Path, profile: Path, suffix: str) -> None:
    # The stored blob has no extension; soffice picks its import filter by content, as for Filedock's copy.
    named = outdir / f"source{suffix}"
    outdir.mkdir(parents=True, exist_ok=True)
    named.symlink_to(source)
    command = ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--nologo"]
    subprocess.run([*command, "--convert-to", "pdf", "--outdir", str(outdir), str(named)], check=True, timeout=600,
                   capture_output=True)  # fmt: skip
    assert (outdir / "source.pdf").exists()


if __name__ == "__main__":
    main()
