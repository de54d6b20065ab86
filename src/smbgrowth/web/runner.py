"""The dashboard's access to its workspace: one owning thread, a result cache, background jobs.

DuckDB and SQLite connections are not shared between threads, so the open
:class:`~smbgrowth.data.workspace.Workspace` lives in one thread and every
library call that needs it runs there, one at a time
(:meth:`WorkspaceRunner.call`). Results are cached by the workspace's data
version, which changes whenever an import commits, so pages served again
are answered from memory. Long work (imports, simulations, plans, reports)
runs as a :class:`Job` in a separate pool and reports its progress.
"""

from __future__ import annotations

import asyncio
import threading
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from smbgrowth.data.duck import scalar
from smbgrowth.data.workspace import Workspace, open_workspace
from smbgrowth.errors import SmbGrowthError

__all__ = ["Job", "JobProgress", "WorkspaceRunner"]

T = TypeVar("T")


@dataclass
class Job:
    """A piece of long work started from the web, and how far it got."""

    id: str
    kind: str
    owner: str
    status: str = "queued"  # queued, running, done, failed
    progress: float = 0.0
    message: str = ""
    result: Any = None
    error: str | None = None
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    finished_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(self.progress, 3),
            "message": self.message,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class JobProgress:
    """What a job's function gets to report progress: ``progress(fraction, message)``."""

    def __init__(self, job: Job) -> None:
        self._job = job

    @property
    def job_id(self) -> str:
        return self._job.id

    def __call__(self, fraction: float, message: str = "") -> None:
        self._job.progress = max(self._job.progress, min(max(fraction, 0.0), 1.0))
        if message:
            self._job.message = message


class WorkspaceRunner:
    """Owns the open workspace in one thread; caches results; runs background jobs."""

    def __init__(self, path: str | Path, *, cache_size: int = 256, job_threads: int = 2) -> None:
        self.path = Path(path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smbgrowth-ws")
        self._jobs_pool = ThreadPoolExecutor(
            max_workers=job_threads, thread_name_prefix="smbgrowth-job"
        )
        self._ws: Workspace | None = None
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._jobs_lock = threading.Lock()
        self.version = 0
        #: Called (from any thread) after the data changed, e.g. to warm the cache again.
        self.on_change: Callable[[], None] | None = None
        # Open in the owning thread, so its connections belong to it.
        self._pool.submit(self._open).result()

    def _open(self) -> None:
        self._ws = open_workspace(self.path)
        self.version = int(scalar(self._ws.duck, "SELECT count(*) FROM _imports") or 0)

    def close(self) -> None:
        def shut() -> None:
            if self._ws is not None:
                self._ws.close()
                self._ws = None

        self._jobs_pool.shutdown(wait=False, cancel_futures=True)
        self._pool.submit(shut).result()
        self._pool.shutdown(wait=True)

    # -- calls ----------------------------------------------------------------------

    def _in_thread(self, fn: Callable[[Workspace], T]) -> T:
        assert self._ws is not None, "the workspace is closed"
        return fn(self._ws)

    def submit(self, fn: Callable[[Workspace], T]) -> Future[T]:
        return self._pool.submit(self._in_thread, fn)

    def call_sync(self, fn: Callable[[Workspace], T]) -> T:
        """Run ``fn(ws)`` in the workspace thread and wait (from any non-async thread)."""
        return self.submit(fn).result()

    async def call(self, fn: Callable[[Workspace], T]) -> T:
        """Run ``fn(ws)`` in the workspace thread without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn))

    async def cached(self, key: Hashable, fn: Callable[[Workspace], T]) -> T:
        """``fn(ws)``, computed once per data version and ``key``."""
        full = (self.version, key)
        with self._cache_lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]  # type: ignore[no-any-return]
        value = await self.call(fn)
        with self._cache_lock:
            self._cache[full] = value
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value

    def has(self, key: Hashable) -> bool:
        """Whether ``key`` is cached for the current data version."""
        with self._cache_lock:
            return (self.version, key) in self._cache

    def data_changed(self) -> None:
        """An import committed: every cached result is stale (and ``on_change`` is told)."""
        self.version += 1
        with self._cache_lock:
            self._cache.clear()
        if self.on_change is not None:
            self.on_change()

    # -- jobs -----------------------------------------------------------------------

    def start_job(
        self,
        kind: str,
        owner: str,
        work: Callable[[JobProgress], Any],
        *,
        changes_data: bool = False,
    ) -> Job:
        """Run ``work(progress)`` in the background; the job records its result or its error."""
        job = Job(id=uuid.uuid4().hex[:16], kind=kind, owner=owner)
        with self._jobs_lock:
            self._jobs[job.id] = job
            # Keep the last 200 jobs.
            for old in list(self._jobs)[:-200]:
                del self._jobs[old]

        def run() -> None:
            job.status = "running"
            try:
                job.result = work(JobProgress(job))
                job.progress = 1.0
                job.status = "done"
            except SmbGrowthError as exc:
                job.error = str(exc)
                job.status = "failed"
            except Exception as exc:  # shown to the user as one line; details kept for logs
                job.error = f"{type(exc).__name__}: {exc}"
                job.status = "failed"
                job.message = traceback.format_exc(limit=3)[-500:]
            finally:
                job.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
                if changes_data and job.status == "done":
                    self.data_changed()

        self._jobs_pool.submit(run)
        return job

    def job(self, job_id: str) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(job_id)
