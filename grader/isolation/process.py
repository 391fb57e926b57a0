"""One worker subprocess: started with its limits (``launch.py``), spoken to over two pipes
in frames (``codec.py``), every wait with a deadline, and a plain-words reason when it dies.
``client.Learner`` owns one at a time (and a spare after a failure).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Sequence

from grader import truncation
from grader.errors import WorkerDied, WorkerTimeout
from grader.isolation import codec
from grader.isolation import protocol as P
from grader.isolation.launch import kill_group, worker_command, worker_preexec
from grader.settings import Limits

if TYPE_CHECKING:
    from grader.isolation.client import Learner

ENDED = "your code ended the worker process"


class WorkerProcess:
    """One worker subprocess and the two pipes to it; every wait has a deadline."""

    def __init__(self, learner: "Learner", preload: Sequence[str] = (), tag: str | None = None) -> None:
        self.output_path = learner.scratch / f"output-{tag or learner.generation}.txt"
        self.limits = learner.limits
        self.sandboxed = learner.sandbox.bwrap is not None
        self._output_read = 0
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        cmd, env = worker_command(
            python=sys.executable, runtime=learner.runtime, submission=learner.submission_dir,
            scratch=learner.scratch, requests_fd=req_r, replies_fd=rep_w,
            threads=learner.threads, bwrap=learner.sandbox.bwrap, limits=learner.limits,
            preload=tuple(preload))
        with open(self.output_path, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                pass_fds=(req_r, rep_w), env=env, cwd=learner.submission_dir,
                start_new_session=True, preexec_fn=worker_preexec(learner.limits))
        os.close(req_r)
        os.close(rep_w)
        self.to_worker, self.from_worker = req_w, rep_r
        os.set_blocking(self.to_worker, False)
        os.set_blocking(self.from_worker, False)
        self._inbox = bytearray()
        # The "ready" frame is awaited on first use (``wait_ready``), so a worker started
        # ahead of time gets ready while the grader goes on.
        self._start_deadline = time.monotonic() + learner.limits.start_timeout_s
        self.pid: int | None = None
        self.ready = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self) -> None:
        """Wait for the worker's "ready" frame (once); ``WorkerDied`` if it does not come."""
        if self.ready:
            return
        try:
            # A hello already waiting in the pipe is read even past the deadline.
            hello, _ = self._receive(max(self._start_deadline, time.monotonic() + 0.05))
        except WorkerTimeout:
            self.kill()
            raise WorkerDied("the worker process did not start in time") from None
        except (EOFError, OSError, codec.CodecError):
            try:
                code = self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
            said = self.take_output(truncation.START_OUTPUT_CHARS).strip().splitlines()
            self.kill()   # before any learner code ran: the grader's or the machine's problem
            raise WorkerDied(f"the worker process could not start (exit status {code})"
                             + (f": {said[-1]}" if said else "")) from None
        self.pid = hello.get(P.PID)
        self.ready = True

    def exchange(self, header: dict, buffers: Sequence[bytes], timeout: float) -> tuple[dict, list[bytes]]:
        deadline = time.monotonic() + timeout
        self._send(codec.pack_frame(header, list(buffers)), deadline)
        return self._receive(deadline)

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerTimeout(0, "sending")
            _, writable, _ = select.select([], [self.to_worker], [], left)
            if writable:
                try:
                    n = os.write(self.to_worker, view[:1 << 20])
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    raise EOFError("worker closed its end") from None
                view = view[n:]

    def _receive(self, deadline: float) -> tuple[dict, list[bytes]]:
        def read_exact(n: int) -> bytes:
            while len(self._inbox) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerTimeout(0, "waiting")
                readable, _, _ = select.select([self.from_worker], [], [], left)
                if readable:
                    try:
                        chunk = os.read(self.from_worker, 1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        raise EOFError("worker closed its end")
                    self._inbox += chunk
            data = bytes(self._inbox[:n])
            del self._inbox[:n]
            return data

        return codec.unpack_frame(read_exact)

    def death_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the worker process stopped answering"
        if self.sandboxed and 128 < code < 128 + 65:   # bwrap reports a signal as 128 + number
            code = 128 - code
        if code < 0:
            return describe_signal(-code, self.limits)
        return f"{ENDED}: it exited with status {code} (os._exit?)"

    def take_output(self, limit: int) -> str:
        try:
            with open(self.output_path, "rb") as f:
                f.seek(self._output_read)
                data = f.read(limit + 1)
                # Past everything printed so far: the rest of a long output is cut here, not
                # handed to the next check as if that check had printed it.
                self._output_read = f.seek(0, os.SEEK_END)
        except OSError:
            return ""
        text = data[:limit].decode("utf-8", "replace")
        return text + ("\n[... output cut]" if len(data) > limit else "")

    def kill(self) -> None:
        for fd in (self.to_worker, self.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        kill_group(self.proc, wait_s=5)


def describe_signal(signum: int, limits: Limits) -> str:
    reasons = {
        signal.SIGKILL: ("it was killed (SIGKILL): by your code, by the machine running out of "
                         "memory, or by the grader"),
        signal.SIGXFSZ: f"your code printed more than {limits.output_kb} KiB (the output limit)",
        signal.SIGXCPU: f"it used up its CPU-time limit of {limits.cpu_s} s",
        signal.SIGSEGV: "it crashed with a segmentation fault",
        signal.SIGABRT: "it aborted (SIGABRT)",
        signal.SIGTERM: "it was terminated (SIGTERM)",
    }
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return "the worker process died: " + reasons.get(signum, f"it was killed by {name}")
