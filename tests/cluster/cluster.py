"""A small deployment on loopback: nginx (round-robin, deploy/nginx/mosaic-mcp.conf) in front of real
`mosaic-mcp serve --http` replicas that share one PostgreSQL schema and one sandbox.

Each replica is its own process with its own MOSAIC_MCP_HOME and a log file; `-v` makes it write one line per
HTTP request it serves (`serve_http.RequestLine`) and one per request it sends upstream (the HTTP client's own
INFO line, a URL without any key): so a test sees which replica served what and which one polls a job. nginx runs
as a plain foreground process with its prefix, pid file, logs and temporary folders in the test's folder.
"""

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import pytest

from mosaic_mcp.server.sandbox import RunningSandbox

from ..support import MOSAIC_KEY, MOTION_KEY
from ..support.processes import free_port, http_server, stop

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "mosaic-mcp.conf"
"""The example configuration the README points to; the cluster runs exactly it, ports and paths replaced."""

NGINX_SKIP = "needs nginx for the cluster test: apt-get install nginx (.ci/run installs it)"

REQUEST_LINE = re.compile(r"127\.0\.0\.1:(\d+) (GET|POST|DELETE) (/\S*) (\d{3})")
"""A replica's per-request log line (`serve_http.RequestLine`): its address, method, path, status."""


def nginx_binary() -> str:
    """Where nginx is, or skip the test with how to install it."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None:
        pytest.skip(NGINX_SKIP)
    return found


def nginx_config(replica_ports: list[int], listen_port: int, prefix: Path) -> str:
    """The example configuration with these replicas, this listen port, and every file nginx writes in `prefix`."""
    text = EXAMPLE.read_text()
    upstream = re.compile(r"^(\s*)server 127\.0\.0\.1:800\d (.*)$", re.MULTILINE)
    indent, rest = upstream.search(text).groups()  # type: ignore[union-attr]
    servers = "\n".join(f"{indent}server 127.0.0.1:{port} {rest}" for port in replica_ports)
    text = upstream.sub("", text, count=len(upstream.findall(text)))
    text = text.replace("upstream mosaic_mcp {\n", "upstream mosaic_mcp {\n" + servers + "\n", 1)
    assert "listen 127.0.0.1:8080;" in text, "the example's listen line changed"
    text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{listen_port};")
    files = "\n".join(
        f"    {name}_temp_path {prefix / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace(
        "http {\n",
        "http {\n"
        "    log_format cluster '$request_method $uri $status upstream=$upstream_addr';\n"
        f"    access_log {prefix / 'access.log'} cluster;\n{files}\n",
        1,
    )
    return f"pid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} info;\n{text}"


@dataclass
class Replica:
    """One `serve --http` process: its port and the file its stderr goes to."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def requests(self, path: str = "/mcp") -> int:
        """How many requests to `path` this replica has answered so far (its log lines)."""
        return sum(
            1
            for m in REQUEST_LINE.finditer(self.log.read_text(errors="replace"))
            if m[1] == str(self.port) and m[3] == path
        )

    def reads(self, job_id: str) -> int:
        """How many times this replica has read the job from the API so far (its client's request log lines)."""
        return sum(
            1
            for line in self.log.read_text(errors="replace").splitlines()
            if "HTTP Request: GET" in line and job_id in line
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to the database (its leases stay until they expire)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@dataclass
class Cluster:
    """nginx's /mcp URL and the replicas behind it."""

    url: str
    replicas: list[Replica]
    nginx_log: Path

    def upstreams(self) -> set[str]:
        """The replica addresses nginx's access log shows it sent /mcp requests to."""
        seen: set[str] = set()
        for line in self.nginx_log.read_text(errors="replace").splitlines():
            if " /mcp " in line and "upstream=" in line:
                seen.update(a.strip() for a in line.split("upstream=", 1)[1].split(","))
        return seen


def replica_env(sandbox: RunningSandbox, home: Path, database_url: str) -> dict[str, str]:
    """A replica's environment: the canary keys, the sandbox as both APIs, its own home, the shared database."""
    return {
        "MOSAIC_API_KEY": MOSAIC_KEY,
        "MOTION_API_KEY": MOTION_KEY,
        "MOSAIC_API_BASE_URL": sandbox.mosaic_base_url,
        "MOTION_API_BASE_URL": sandbox.motion_base_url,
        "MOSAIC_MCP_HOME": str(home / "home"),
        "MOSAIC_MCP_DOWNLOAD_DIR": str(home / "downloads"),
        "MOSAIC_MCP_DATABASE_URL": database_url,
        "MOSAIC_MCP_MAX_WAIT_SECONDS": "10",
        "MOSAIC_MCP_POLL_INTERVAL": "0.1",
    }


async def _wait_for(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    """GET `url` until it answers 200 (bounded: 30 s), failing early if the process died."""
    deadline = time.monotonic() + 30
    async with httpx2.AsyncClient(timeout=2) as http:
        while True:
            assert proc.poll() is None, f"{what} exited early (code {proc.returncode}); see its log"
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, f"{what} did not answer {url} within 30 s"
            await anyio.sleep(0.1)


@contextmanager
def nginx_process(nginx: str, prefix: Path, conf: Path) -> Iterator[subprocess.Popen[bytes]]:
    """nginx in the foreground (`daemon off`) with `prefix` as its prefix; stopped by its pid on exit."""
    with (prefix / "stderr.log").open("wb") as err:
        proc = subprocess.Popen(
            [nginx, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=err
        )
        try:
            yield proc
        finally:
            stop(proc)


@asynccontextmanager
async def running_cluster(
    sandbox: RunningSandbox, folder: Path, database_url: str, replicas: int = 2
) -> AsyncIterator[Cluster]:
    """`replicas` servers on one database and one sandbox, behind nginx; stopped (by pid) on exit."""
    nginx = nginx_binary()
    with ExitStack() as stack:
        started: list[Replica] = []
        for index in range(replicas):
            home = folder / f"replica-{index}"
            home.mkdir(parents=True)
            log = home / "stderr.log"
            port = free_port()
            out = stack.enter_context(log.open("wb"))
            proc, _ = stack.enter_context(
                http_server(replica_env(sandbox, home, database_url), "-v", port=port, stderr=out)
            )
            started.append(Replica(proc, port, log))
        for replica in started:
            await _wait_for(f"http://127.0.0.1:{replica.port}/readyz", replica.proc, f"the replica on {replica.port}")
        prefix = folder / "nginx"
        prefix.mkdir()
        listen = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config([r.port for r in started], listen, prefix))
        proc = stack.enter_context(nginx_process(nginx, prefix, conf))
        await _wait_for(f"http://127.0.0.1:{listen}/healthz", proc, "nginx")
        yield Cluster(f"http://127.0.0.1:{listen}/mcp", started, prefix / "access.log")
