"""One worker process, as the grader holds it: forked by the pool's zygote (``pool.py``),
spoken to over two pipes in frames (``codec.py``), every wait with a deadline, and a
plain-words reason when it dies. ``client.Learner`` owns one at a time.

Nothing the worker sends is trusted beyond its data. Every request carries a random id that
its reply must repeat; a reply with another id, a frame larger than the worker's memory limit,
or bytes that are not a frame end the worker with a clear status ("the worker broke the
protocol"), so replies can never go out of step, and the grader never holds more of a reply
in memory than the worker could have made.
"""

from __future__ import annotations

import errno
import os
import secrets
import select
import signal
import struct
import time
from pathlib import Path
from typing import Sequence

from grader import truncation
from grader.errors import WorkerDied, WorkerTimeout
from grader.isolation import codec
from grader.isolation import protocol as P
from grader.isolation.pool import Pool, Spawned
from grader.settings import Limits

ENDED = "your code ended the worker process"
BROKE_PROTOCOL = ("the worker broke the grader's protocol ({why}): your code wrote to the "
                  "grader's pipe or changed the worker")
_PART = struct.Struct("<Q")


class ProtocolViolation(Exception):
    """A frame the grader did not ask for, or one too large to be real."""


class WorkerProcess:
    """One worker process and the two pipes to it."""

    def __init__(self, pool: Pool, *, submission: Path, output_path: Path,
                 learner_modules: Sequence[str], gid: int | None = None, cuda: bool = False) -> None:
        self.pool = pool
        self.limits: Limits = pool.settings.limits
        self.output_path = output_path
        self._output_read = 0
        self._inbox = bytearray()
        # The most a reply can hold: what the worker may allocate, plus room for its header.
        self.max_frame = (self.limits.memory_mb << 20) + (16 << 20)
        fd = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            self.worker: Spawned = pool.spawn(submission=submission, output=fd,
                                              learner_modules=learner_modules, gid=gid, cuda=cuda)
        finally:
            os.close(fd)
        self.to_worker, self.from_worker = self.worker.to_worker, self.worker.from_worker
        self._start_deadline = time.monotonic() + self.limits.start_timeout_s
        self.ready = False
        self.ended = False

    def wait_ready(self) -> None:
        """Wait for the worker's "ready" frame (once); ``WorkerDied`` if it does not come."""
        if self.ready:
            return
        try:
            hello, _ = self._receive(max(self._start_deadline, time.monotonic() + 0.05))
        except WorkerTimeout:
            self.kill()
            raise WorkerDied("the worker process did not start in time") from None
        except (EOFError, OSError, codec.CodecError, ProtocolViolation):
            ended = self.pool.exit_of(self.worker)
            said = [line for line in self.take_output(truncation.START_OUTPUT_CHARS * 20)
                    .strip().splitlines() if line and not line.startswith("[... output cut")]
            self.kill()   # before any learner code ran: the grader's or the machine's problem
            code = ended.code if ended and ended.code is not None else (
                -ended.signal if ended and ended.signal else None)
            raise WorkerDied(f"the worker process could not start (exit status {code})"
                             + (f": {said[-1][:truncation.START_OUTPUT_CHARS]}" if said else "")) from None
        if not (isinstance(hello, dict) and hello.get(P.VALUE) == P.READY):
            self.kill()
            raise WorkerDied(BROKE_PROTOCOL.format(why="no ready message"))
        self.ready = True

    def exchange(self, header: dict, buffers: Sequence[bytes], timeout: float) -> tuple[dict, list[bytes]]:
        """Send a request and read its reply; ``WorkerTimeout`` past ``timeout``, ``EOFError``
        when the worker is gone, ``ProtocolViolation`` for a reply that is not the answer."""
        deadline = time.monotonic() + timeout
        rid = secrets.token_hex(8)
        self._send(codec.pack_frame({**header, P.RID: rid}, list(buffers)), deadline)
        reply, out = self._receive(deadline)
        if not isinstance(reply, dict) or reply.get(P.RID) != rid:
            raise ProtocolViolation("a reply to a request it was not asked")
        return reply, out

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
        total = [0]

        def read_exact(n: int) -> bytes:
            if n == _PART.size:
                pass
            elif n > self.max_frame - total[0]:
                raise ProtocolViolation(f"a reply of over {self.max_frame >> 20} MiB")
            else:
                total[0] += n
            while len(self._inbox) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerTimeout(0, "waiting")
                readable, _, _ = select.select([self.from_worker], [], [], left)
                if readable:
                    try:
                        chunk = os.read(self.from_worker, min(1 << 20, max(n - len(self._inbox), 1 << 16)))
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
        ended = self.pool.exit_of(self.worker)
        if ended is None:
            return "the worker process stopped answering"
        if ended.signal is not None:
            return describe_signal(ended.signal, self.limits)
        return f"{ENDED}: it exited with status {ended.code} (os._exit?)"

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
        if not self.ended:
            self.ended = True
            self.pool.end(self.worker)


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
