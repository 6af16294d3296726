"""uvicorn's multi-process supervisor, without its stall on a dead worker.

uvicorn checks each worker by sending it a ping over a pipe and waiting for the answer, up to
``timeout_worker_healthcheck`` (ours is long: a worker that is still importing the app must not
be taken for hung). The supervisor keeps its own copy of the worker's end of that pipe, so a
worker that dies while being checked never closes it: the supervisor waits the whole timeout
before it notices, and while it waits no dead worker is replaced and requests queue unanswered.
Closing that copy once the worker has its own makes a dead worker's pipe read as closed at once.
"""

from uvicorn.supervisors import Multiprocess


class Supervisor(Multiprocess):
    def init_processes(self) -> None:
        super().init_processes()
        self._release_worker_ends()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self._release_worker_ends()

    def restart_all(self) -> None:
        super().restart_all()
        self._release_worker_ends()

    def handle_ttin(self) -> None:
        super().handle_ttin()
        self._release_worker_ends()

    def _release_worker_ends(self) -> None:
        """Started workers hold their end of the pipe; the supervisor's copy only hides EOF."""
        for process in self.processes:
            process.child_conn.close()
