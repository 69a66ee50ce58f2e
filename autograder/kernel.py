"""Talking to a student's kernel over IPC sockets: run a cell, ask the agent for plain data.

Every wait is bounded, every message is bounded in size (ZeroMQ drops larger ones), and what comes
back is only ever parsed as JSON by `plain.py`: nothing is unpickled or evaluated.
"""

from __future__ import annotations

import queue
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from autograder import sandbox
from autograder.plain import BadReply, Figure, parse_reply
from autograder.sandbox import Limits
from autograder.student import KernelDied, encode_args, figures_of, value_of
from autograder.warm_sandbox import WarmSandbox

AGENT_SOURCE = (Path(__file__).resolve().parent / "kernel_agent.py").read_text()
AGENT = "__import__('sys').modules['_grading_agent']"


STDERR_KEPT = 500  # characters of a cell's stderr kept to quote in feedback
IDLE_SECONDS = 5  # how long an answered request's idle status may take to follow its reply, at most


def error_line(error: dict) -> str:
    """How a cell's error reads in feedback: "NameError: name 'x' is not defined", or the exception's
    name alone when it has no message (the stub's bare `raise NotImplementedError()`)."""
    name = str(error.get("ename") or "Error")[:200]
    value = str(error.get("evalue") or "")[:500]
    return f"{name}: {value}" if value else name


def ran_too_long(seconds: float) -> str:
    """How a cell stopped at its time limit is said, by either grader."""
    return f"the cell ran for more than {seconds:g} s and was stopped"


def kept_stderr(kept: str, text: str) -> str:
    """What is kept of stderr once `text` is written after `kept`: its start, for the feedback."""
    return (kept + text)[:STDERR_KEPT]


class Answer(NamedTuple):
    """The agent's reply to one ask, and what the kernel wrote to stderr while making it."""

    text: str
    stderr: str


@dataclass
class Executed:
    """What one cell did: its outputs (as nbformat dicts), and how it ended."""

    outputs: list[dict] = field(default_factory=list)
    status: str = "ok"  # ok | error | timeout
    error: str = ""  # "NameError: name 'x' is not defined"
    execution_count: int | None = None
    wrote_stderr: bool = False
    stderr: str = ""  # the start of what it wrote to stderr, for the feedback that explains a zero


class FreshKernelProcess:
    """A kernel started as a new process of its own (sandboxed unless told otherwise)."""

    def __init__(self, workdir: Path, ipc: Path, argv: list[str], limits: Limits, sandboxed: bool,
                 fonts: Path | None, jax_cache: Path | None, prime: bool):
        self._workdir, self._ipc = workdir, ipc
        kernel_args = ["-m", "ipykernel_launcher", *argv]
        if sandboxed:
            command = sandbox.command(workdir, ipc, kernel_args, fonts, jax_cache, prime, limits.scratch_bytes)
            self._process, self._cgroups = sandbox.start(command, limits)
        else:
            # Never a student's code as root: a root grader without a sandbox runs it as nobody.
            as_nobody = not prime and sandbox.nobody_can_run_kernels()
            if as_nobody:
                sandbox.hand_over(workdir, ipc)
                jax_cache = None  # the grader's own cache is out of nobody's reach
            env = sandbox.unsandboxed_env(workdir, jax_cache, prime)
            command = sandbox.unsandboxed_command(kernel_args, as_nobody)
            self._process, self._cgroups = sandbox.start(command, limits, env=env, cwd=workdir)

    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        """Stop the kernel and everything it started, and remove its sockets and working directory."""
        sandbox.stop(self._process, self._cgroups)
        sandbox.remove(self._ipc)
        sandbox.remove(self._workdir)


# The kernel's own sleep of 0.5 ms before each reply, a guard for clients that stop reading outputs
# at the reply, is left out: this one reads IOPub up to the idle status, published after the reply.
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=CRITICAL",
               "--IPythonKernel._execute_sleep=0"]
RECONNECT_MS = 5  # how soon a socket tries again to reach a kernel that has not bound its sockets yet


class Kernel:
    """One fresh IPython kernel for one submission: forked in a warm sandbox, or a process of its own.

    `receive` puts the student's notebook in the kernel's working directory, as nbgrader runs a
    notebook beside its file. With
    `given_cells` (the release's locked code), the kernel is warmed up before any student code runs.
    With `prime`, it may write JAX's compilation cache (only for the grader's own warm-up).
    """

    def __init__(
        self,
        limits: Limits,
        given_cells: list[str] | None = None,
        sandboxed: bool = True,
        fonts: Path | None = None,
        jax_cache: Path | None = None,
        prime: bool = False,
        warm: WarmSandbox | None = None,
    ):
        self.limits = limits
        self._own_home = warm is not None or sandboxed  # else the kernel works in self.workdir itself
        if warm is not None:
            self.workdir = warm.workdir
            connection, sockets = warm.connection_file()
            write_connection_file(str(connection), transport="ipc", ip=sockets)
            self._process = warm.fork(["-f", str(connection), *KERNEL_ARGS])
        else:
            self.workdir = sandbox.inbox_dir()
            ipc = sandbox.sockets_dir()
            connection = ipc / "kernel.json"
            write_connection_file(str(connection), transport="ipc", ip=str(ipc / "k"))
            self._process = FreshKernelProcess(self.workdir, ipc, ["-f", str(connection), *KERNEL_ARGS], limits,
                                               sandboxed, fonts, jax_cache, prime)
        self._context = zmq.Context()
        self._context.setsockopt(zmq.MAXMSGSIZE, limits.reply_bytes)
        # The sockets connect before the new kernel has bound its own: ZeroMQ then tries again after
        # RECONNECT_IVL, 100 ms by default, which each kernel's start waited out once or twice.
        self._context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        self._client = BlockingKernelClient(context=self._context)
        self._client.load_connection_file(str(connection))
        self._client.start_channels()
        try:
            self._wait_until_ready(timeout=60)
            self._run_silently(
                f"exec(compile({AGENT_SOURCE!r}, 'kernel_agent', 'exec'), {{'__name__': '_grading_agent'}}); "
                f"{AGENT}.install()"
            )
            if given_cells:
                self._run_silently(f"{AGENT}.warm_up({given_cells!r})", timeout=120)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ life cycle

    def alive(self) -> bool:
        return self._process.alive()

    def _wait_until_ready(self, timeout: float) -> None:
        """Until the kernel answers on its shell channel and its IOPub messages reach the grader.

        IOPub is a ZeroMQ subscription, which drops what the kernel publishes before it is connected
        (the "slow joiner"): a cell run too early would seem never to finish, since its end and its
        outputs come only there. So, as jupyter_client's own `wait_for_ready`, ask again until the
        IOPub messages of a request arrive too (usually within milliseconds: ask again soon).
        """
        deadline = time.monotonic() + timeout
        asked = set()
        while time.monotonic() < deadline:
            if not self.alive():
                raise KernelDied("the kernel did not start")
            msg_id = self._client.kernel_info()
            asked.add(msg_id)
            try:
                self._shell_reply(msg_id, timeout=min(2.0, deadline - time.monotonic()))
            except TimeoutError:
                continue
            try:
                while True:
                    msg = self._client.get_iopub_msg(timeout=0.05)
                    if msg.get("parent_header", {}).get("msg_id") in asked:
                        return
            except (queue.Empty, ValueError):
                continue
        raise KernelDied("the kernel did not start in time")

    def close(self) -> None:
        """Stop the kernel and everything it started, and remove what it wrote."""
        try:
            self._client.stop_channels()
        finally:
            self._process.stop()
            self._context.destroy(linger=0)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ messages

    def _reply_to(self, msg_id: str, get, deadline: float, died: str) -> dict | None:
        """The next message answering `msg_id` from the channel `get` reads, or None at the deadline."""
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                msg = get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if not self.alive():
                    raise KernelDied(died) from None
                continue
            except ValueError:  # a message that is not what the protocol sends: ignore it
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg
        return None

    def _shell_reply(self, msg_id: str, timeout: float) -> dict:
        msg = self._reply_to(msg_id, self._client.get_shell_msg, time.monotonic() + timeout, "the kernel died")
        if msg is None:
            raise TimeoutError
        return msg["content"]

    def interrupt(self) -> bool:
        """Interrupt the running code; whether the kernel came back within a few seconds.

        Back means it runs code again: a kernel whose student closed its standard output still
        answers `kernel_info` but never finishes an execution, and every later request would wait
        out its whole time limit.
        """
        msg = self._client.session.msg("interrupt_request", content={})
        self._client.control_channel.send(msg)
        msg_id = self._client.execute("", silent=True, store_history=False, allow_stdin=False)
        try:
            self._shell_reply(msg_id, timeout=5)
            return True
        except (TimeoutError, KernelDied):
            return False

    def receive(self, notebook: Path, name: str) -> None:
        """Copy the student's notebook to the kernel's working directory, before any of its code runs.

        A sandbox's home is its own in-memory file system: the kernel copies the file there from the
        grader's directory, which it sees read-only, without binding a name in the student's namespace.
        """
        shutil.copyfile(notebook, self.workdir / name)  # not its permissions: the kernel may be another user
        if self._own_home:
            inbox = f"{sandbox.SANDBOX_INBOX}/{name}"
            self._run_silently(f"__import__('shutil').copyfile({inbox!r}, {name!r})")

    def _run_silently(self, code: str, timeout: float = 60) -> None:
        msg_id = self._client.execute(code, silent=True, store_history=False, allow_stdin=False)
        reply = self._shell_reply(msg_id, timeout=timeout)
        if reply.get("status") != "ok":
            raise KernelDied(f"the grader's set-up failed in the kernel: {reply.get('ename')}")

    def execute(self, code: str, timeout: float | None = None) -> Executed:
        """Run one cell as the notebook would, keeping its text outputs within the size limit."""
        timeout = self.limits.cell_seconds if timeout is None else timeout
        result = Executed()
        if not self.alive():
            raise KernelDied("the kernel is not running")
        msg_id = self._client.execute(code, store_history=True, allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        kept = 0
        while True:
            msg = self._reply_to(msg_id, self._client.get_iopub_msg, deadline, "the kernel died while running the cell")
            if msg is None:
                result.status = "timeout"
                result.error = ran_too_long(timeout)
                if not self.interrupt():
                    self.close_quietly()
                    raise KernelDied(result.error + "; the kernel did not respond to the interrupt")
                return result
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "execute_input":
                result.execution_count = content.get("execution_count")
            elif kind == "stream":
                if content.get("name") == "stderr":
                    result.wrote_stderr = True
                    result.stderr = kept_stderr(result.stderr, str(content.get("text", "")))
                kept = self._keep(result, kept, {"output_type": "stream", "name": content.get("name", "stdout"),
                                                 "text": str(content.get("text", ""))})
            elif kind in ("execute_result", "display_data"):
                text = str(content.get("data", {}).get("text/plain", ""))
                output = {"output_type": kind, "data": {"text/plain": text}, "metadata": {}}
                if kind == "execute_result":
                    output["execution_count"] = content.get("execution_count")
                kept = self._keep(result, kept, output)
            elif kind == "error":
                result.status = "error"
                result.error = error_line(content)
                kept = self._keep(result, kept, {"output_type": "error", "ename": str(content.get("ename", ""))[:200],
                                                 "evalue": str(content.get("evalue", ""))[:2000],
                                                 "traceback": [str(t)[:2000] for t in content.get("traceback", [])[:50]]})
        try:
            self._shell_reply(msg_id, timeout=5)
        except TimeoutError:
            pass
        return result

    def _keep(self, result: Executed, kept: int, output: dict) -> int:
        size = len(str(output))
        limit = self.limits.output_bytes
        if kept >= limit:
            return kept
        if kept + size > limit:
            output = {"output_type": "stream", "name": "stdout",
                      "text": f"\n[output cut: the cell printed more than {limit} characters]\n"}
        result.outputs.append(output)
        return kept + size

    def close_quietly(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def ask(self, expression: str, timeout: float | None = None) -> Answer:
        """What the agent returns for `expression`, evaluated in the kernel between cells, and what
        the kernel wrote to stderr meanwhile (the agent swallows `sys.stderr`; a stream the student's
        code kept, such as a `logging` handler's, still reaches the kernel's)."""
        timeout = self.limits.cell_seconds if timeout is None else timeout
        if not self.alive():
            raise KernelDied("the kernel is not running")
        deadline = time.monotonic() + timeout
        msg_id = self._client.execute("", silent=True, store_history=False, allow_stdin=False,
                                      user_expressions={"answer": expression})
        try:
            reply = self._shell_reply(msg_id, timeout=timeout)
        except TimeoutError:
            if not self.interrupt():
                self.close_quietly()
            raise TimeoutError(f"no answer within {timeout:.3g} s") from None
        answer = reply.get("user_expressions", {}).get("answer", {})
        if answer.get("status") != "ok":
            raise BadReply(f"the kernel could not answer ({str(answer.get('ename', 'no reply'))[:100]})")
        text = answer.get("data", {}).get("text/plain")
        if not isinstance(text, str):
            raise BadReply("the kernel's answer has no text")
        return Answer(text, self._stderr_until_idle(msg_id, min(deadline, time.monotonic() + IDLE_SECONDS)))

    def _stderr_until_idle(self, msg_id: str, deadline: float) -> str:
        """The stderr text a request's IOPub messages carry up to its idle status, which follows its
        reply: the kernel flushes its streams before replying, so nothing written before is missed.
        At `deadline` (`time.monotonic()`), what has come is all there is."""
        stderr = ""
        while (msg := self._reply_to(msg_id, self._client.get_iopub_msg, deadline, "the kernel died")) is not None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "stream" and content.get("name") == "stderr":
                stderr = kept_stderr(stderr, str(content.get("text", "")))
        return stderr


class RemoteStudent:
    """The `Student` interface served by a sandboxed kernel: the checks never touch it directly.

    Each answer may take a cell's time limit, and all of them end at `deadline` (`time.monotonic()`),
    the submission's: a function slow on every call the checks make cannot stretch one submission's
    grading past its limit (under Gradescope, past the container's).
    """

    def __init__(self, kernel: Kernel, answer_cells: dict[str, int | None], deadline: float):
        self._figures_replies: dict[int, str] = {}  # execution count -> the agent's reply, from this kernel
        self.kernel = kernel  # the grader swaps in a new one if the notebook stops it
        self._answer_cells = answer_cells  # grade id -> execution count of the answer cell
        self._deadline = deadline
        self.drawn: dict[str, list] = {}  # grade id -> the figures' plain data, kept for feedback
        # What the kernel wrote to stderr while answering since the grader last emptied this: under
        # nbgrader the hidden checks run inside the test cell, where writing to stderr fails it.
        self.stderr = ""

    @property
    def kernel(self) -> Kernel:
        return self._kernel

    @kernel.setter
    def kernel(self, kernel: Kernel) -> None:
        self._kernel = kernel
        self._figures_replies.clear()  # a new kernel numbers the cells it runs again anew

    def value(self, name: str) -> Any:
        return value_of(self._ask(f"{AGENT}.value({name!r})"), name)

    def call(self, name: str, *args: Any) -> Any:
        return value_of(self._ask(f"{AGENT}.call({name!r}, {encode_args(args)!r})"), name)

    def figures(self, grade_id: str) -> list[Figure]:
        count = self._answer_cells.get(grade_id)
        if count is None:
            return []
        # What a finished cell drew was recorded when it ended and stays as it was: a question's
        # checks that each read it ask the kernel once (a request costs the kernel some 5 ms of CPU).
        text = self._figures_replies.get(count)
        if text is None:
            text = self._figures_replies[count] = self._ask(f"{AGENT}.figures({int(count)})")
        figures = figures_of(text)
        if figures:
            self.drawn[grade_id] = parse_reply(text)["figures"]  # checked by figures_of just above
        return figures

    def _ask(self, expression: str) -> str:
        limits = self.kernel.limits
        left = self._deadline - time.monotonic()
        ran_out = f"the notebook's {limits.submission_seconds:g} s in all ran out"
        if left <= 0:
            raise TimeoutError(ran_out)
        try:
            answer = self.kernel.ask(expression, timeout=min(limits.cell_seconds, left))
        except TimeoutError:
            if left < limits.cell_seconds:
                raise TimeoutError(f"no answer before {ran_out}") from None
            raise
        self.stderr = kept_stderr(self.stderr, answer.stderr)
        return answer.text
