"""Running a conversion tool (soffice, pdftoppm, ffmpeg) with a deadline, and the two ways a
conversion fails: a tool that is not installed, and an input the tool cannot convert."""

import contextlib
import ctypes
import os
import signal
import subprocess
import time


class ToolMissing(Exception):
    """A tool the conversion needs is not installed; the message says what to install."""


class ConversionFailed(Exception):
    """The input could not be converted (broken, unsupported, too long); the message says why."""


def run(command: list[str], deadline: float, *, what: str, cwd=None) -> str:
    """Runs a tool until `deadline` (a time.monotonic() value), in a process group of its own that
    is killed whole when time is up or the tool is done (soffice starts a child that would outlive
    its parent). Returns its stdout; raises ToolMissing, ConversionFailed for a failed run, and
    TimeoutError past the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError(f"{what} did not finish within the conversion time limit.")
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_worker,
            cwd=cwd,
            env={**os.environ, "LC_ALL": "C.UTF-8", **({"HOME": str(cwd)} if cwd else {})},
        )
    except FileNotFoundError as exc:
        raise ToolMissing(f"{what} is not installed on the server.") from exc
    try:
        out, err = process.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        process.communicate()
        raise TimeoutError(f"{what} did not finish within the conversion time limit.") from None
    finally:
        _kill_group(process.pid)
    if process.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise ConversionFailed(
            f"{what} could not convert the file: {(lines[-1] if lines else f'exit {process.returncode}')[:300]}"
        )
    return out.decode(errors="replace")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _die_with_worker() -> None:
    """In the child, before exec: SIGKILL when the worker that started it dies (Linux's
    PR_SET_PDEATHSIG), so a killed worker leaves no tool running on in its own session."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
