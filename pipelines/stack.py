"""`dlops stack`: a local team stack in one command, for trying the servers and for tests.

`up` starts, each as a process of its own, listening on 127.0.0.1 only:
- PostgreSQL: a throwaway cluster made with the installed binaries (`initdb`, `pg_ctl`; as
  root they run as the `postgres` user), or none when `--database-url` names a server;
- an S3 stand-in: moto's server, in memory (for trying; a real team uses S3, GCS or MinIO);
- the MLflow tracking server on PostgreSQL, proxying artifacts to the S3 stand-in;
- the Prefect server (with its UI) on PostgreSQL;
- a Prefect process work pool `dlops` and `--workers` workers polling it, training in the
  checkout `up` ran in; the pool's `families` queue runs at most one family per worker.
It points the checkout's DVC remote at the stand-in's bucket (`.dvc/config.local`, git-ignored)
and prints the two variables to export. `join` does the DVC part for another checkout; `down`
stops, by PID, what `up` started, and removes the throwaway database, nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from components.project import DlopsError, Project

STACK_DIR_ENV = "DLOPS_STACK_DIR"
POOL = "dlops"
FAMILY_QUEUE = "families"  # prefect.yaml's per-family deployment runs from this queue
BUCKET = "dlops"
REMOTE = "stack"  # the DVC remote `up` and `join` add to a checkout's config.local
DATABASES = ("mlflow", "prefect")
# moto accepts any key: these only have to be the same for the server and its clients
S3_KEY = {"AWS_ACCESS_KEY_ID": "dlops-stack", "AWS_SECRET_ACCESS_KEY": "dlops-stack"}
REGION = "us-east-1"


def default_dir() -> Path:
    """Where the stack keeps its state and logs: one stack per user, any checkout may use it."""
    env = os.environ.get(STACK_DIR_ENV)
    return Path(env) if env else Path.home() / ".cache" / "dlops" / "stack"


@dataclass
class Service:
    """A process `up` started: enough to find it again, and to stop only it."""

    name: str
    pid: int
    started: float  # the process's create time: a reused PID is not ours
    url: str = ""
    log: str = ""

    def alive(self) -> bool:
        import psutil

        try:
            return abs(psutil.Process(self.pid).create_time() - self.started) < 0.01
        except psutil.Error:
            return False


@dataclass
class Stack:
    """The state file: what runs, where, and what a client exports."""

    services: list[Service] = field(default_factory=list)
    database_url: str = ""  # the server `up` used (postgresql://user@host:port)
    cluster: str = ""  # the throwaway cluster's folder ("" when the user gave a URL)
    cluster_owner: str = ""  # the system user the cluster runs as ("" = the caller)
    pg_bin: str = ""
    s3_endpoint: str = ""
    env: dict[str, str] = field(default_factory=dict)  # what clients export
    joined: list[str] = field(default_factory=list)  # checkouts whose DVC remote points here

    @classmethod
    def load(cls, folder: Path) -> Stack | None:
        path = folder / "stack.json"
        if not path.is_file():
            return None
        raw = json.loads(path.read_text())
        raw["services"] = [Service(**s) for s in raw.get("services", [])]
        return cls(**raw)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "stack.json"
        path.write_text(json.dumps(asdict(self), indent=1))

    def exports(self) -> str:
        return "".join(f"export {k}={v}\n" for k, v in self.env.items())


def _free(port: int) -> bool:
    """Nothing listens on the port.

    Connections of a server just stopped (in TIME_WAIT) do not count: the servers bind with
    SO_REUSEADDR, as the probe does.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _check_ports(ports: dict[str, int]) -> None:
    busy = [f"{option} {port}" for option, port in ports.items() if not _free(port)]
    if busy:
        raise DlopsError(
            f"port in use on 127.0.0.1: {', '.join(busy)} (another stack or server?); "
            "choose others with those options, or `dlops stack down` first"
        )


def _wait(url: str, service: Service, log: Path, timeout_s: float = 180) -> None:
    """Until `url` answers 200; a DlopsError with the log's end if the process dies first."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if not service.alive():
            break
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-1500:] if log.is_file() else ""
    raise DlopsError(f"{service.name} did not start (log {log}):\n{tail}")


def _spawn(name: str, argv: list[str], env: dict[str, str], logs: Path, url: str = "") -> Service:
    import psutil

    log = logs / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives this command; stopped by `down`
        )
    return Service(name, process.pid, psutil.Process(process.pid).create_time(), url, str(log))


def _stop(services: list[Service], timeout_s: float = 20) -> None:
    """SIGTERM to each service's process group, SIGKILL after `timeout_s`; only if still ours."""
    for service in services:
        if service.alive():
            with suppress(ProcessLookupError):
                os.killpg(service.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while any(s.alive() for s in services) and time.monotonic() < deadline:
        time.sleep(0.2)
    for service in services:
        if service.alive():
            with suppress(ProcessLookupError):
                os.killpg(service.pid, signal.SIGKILL)


# PostgreSQL ---------------------------------------------------------------------------------


def _fetched_postgres() -> Path:
    """Where set-up's Debian packages are unpacked (the venv's `debian/`)."""
    return Path(sys.executable).resolve().parent.parent / "debian" / "postgresql"


def find_postgres() -> Path | None:
    """The folder of `initdb` and `pg_ctl`: on PATH, Debian's versioned folder, or fetched."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    candidates += sorted(_fetched_postgres().glob("usr/lib/postgresql/*/bin/initdb"))
    return candidates[-1].parent if candidates else None


def fetch_postgres() -> Path:
    """PostgreSQL's binaries from Debian's packages, without root; their folder.

    `apt-get download` + `dpkg -x`, as set-up fetches the speech family's espeak-ng.
    """
    target = _fetched_postgres()
    target.mkdir(parents=True, exist_ok=True)
    packages = ["postgresql-15", "postgresql-client-15", "libpq5", "libllvm14", "libicu72"]
    if not shutil.which("apt-get"):
        raise DlopsError(
            "no PostgreSQL installed and no apt-get to fetch it: install PostgreSQL, or give "
            "`dlops stack up --database-url postgresql://USER:PASSWORD@HOST:PORT/postgres`"
        )
    with tempfile.TemporaryDirectory() as downloads:
        for package in packages:
            fetched = subprocess.run(
                ["apt-get", "download", "-q=2", package],
                cwd=downloads,
                capture_output=True,
                text=True,
            )
            if fetched.returncode != 0:
                raise DlopsError(f"could not fetch Debian's {package}: {fetched.stderr.strip()}")
        for deb in Path(downloads).glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(target)], check=True)
    found = find_postgres()
    if found is None:
        raise DlopsError(f"the fetched PostgreSQL packages hold no initdb ({target})")
    return found


def _as_owner(argv: list[str], owner: str) -> list[str]:
    """As root, PostgreSQL's programs refuse to run: run them as `owner` (runuser)."""
    return ["runuser", "-u", owner, "--", *argv] if owner else argv


def _pg_env(pg_bin: Path) -> dict[str, str]:
    env = dict(os.environ)
    libs = [str(p) for p in _fetched_postgres().glob("usr/lib/*-linux-gnu") if p.is_dir()]
    if str(pg_bin).startswith(str(_fetched_postgres())) and libs:
        env["LD_LIBRARY_PATH"] = ":".join([*libs, env.get("LD_LIBRARY_PATH", "")])
    return env


def start_cluster(stack: Stack, folder: Path, port: int) -> None:
    """A throwaway cluster on 127.0.0.1:`port`: trust on loopback, user `dlops`."""
    pg_bin = find_postgres() or fetch_postgres()
    owner = ""
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise DlopsError(
                "as root, PostgreSQL runs as the system user `postgres`, and there is none: "
                "run `dlops stack up` as a normal user, or give --database-url"
            ) from None
        owner = "postgres"
        # a folder the postgres user can reach (root's home is closed to it)
        cluster = Path(tempfile.mkdtemp(prefix="dlops-stack-postgres-"))
        shutil.chown(cluster, "postgres")
    else:
        cluster = folder / "postgres"
        shutil.rmtree(cluster, ignore_errors=True)
        cluster.mkdir(parents=True)
    stack.cluster, stack.cluster_owner, stack.pg_bin = str(cluster), owner, str(pg_bin)
    env = _pg_env(pg_bin)
    initdb = [str(pg_bin / "initdb"), "-D", str(cluster / "data"), "-U", "dlops"]
    initdb += ["--auth=trust", "-E", "UTF8", "--no-instructions"]
    done = subprocess.run(_as_owner(initdb, owner), env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise DlopsError(f"initdb failed: {(done.stderr or done.stdout).strip()[-1000:]}")
    options = f"-p {port} -k {cluster} -c listen_addresses=127.0.0.1 -c jit=off"
    start = [str(pg_bin / "pg_ctl"), "-D", str(cluster / "data"), "-l", str(cluster / "log")]
    done = subprocess.run(
        _as_owner([*start, "-o", options, "-w", "-t", "60", "start"], owner),
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        log = cluster / "log"
        tail = log.read_text(errors="replace")[-1000:] if log.is_file() else done.stderr
        raise DlopsError(f"PostgreSQL did not start: {tail}")
    stack.database_url = f"postgresql://dlops@127.0.0.1:{port}"


def stop_cluster(stack: Stack) -> None:
    """`pg_ctl stop` of the throwaway cluster (its postmaster PID file), then remove it."""
    if not stack.cluster:
        return
    cluster, pg_bin = Path(stack.cluster), Path(stack.pg_bin)
    if (cluster / "data" / "postmaster.pid").is_file():
        stop = [str(pg_bin / "pg_ctl"), "-D", str(cluster / "data"), "-m", "fast", "-w", "stop"]
        subprocess.run(
            _as_owner(stop, stack.cluster_owner),
            env=_pg_env(pg_bin),
            capture_output=True,
        )
    shutil.rmtree(cluster, ignore_errors=True)


def server_url(database_url: str) -> str:
    """`postgresql://USER:PASSWORD@HOST:PORT` of a URL the user gave (any database in it)."""
    from urllib.parse import urlsplit

    parts = urlsplit(database_url)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres") or not parts.hostname:
        raise DlopsError(
            f"--database-url: {database_url!r} is no PostgreSQL URL "
            "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
        )
    return f"postgresql://{parts.netloc}"


def create_databases(url: str) -> None:
    """The MLflow and Prefect databases on the server (kept if they exist)."""
    import psycopg

    try:
        with psycopg.connect(f"{url}/postgres", autocommit=True, connect_timeout=10) as db:
            existing = {name for (name,) in db.execute("select datname from pg_database")}
            for name in DATABASES:
                if f"dlops_{name}" not in existing:
                    db.execute(f'create database "dlops_{name}"')
    except psycopg.Error as exc:
        raise DlopsError(f"PostgreSQL at {url}: {' '.join(str(exc).split())}") from None


# the S3 stand-in, the servers and the workers --------------------------------------------


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def make_bucket(endpoint: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **_s3_credentials())
    s3.create_bucket(Bucket=BUCKET)


def _s3_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_KEY["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_KEY["AWS_SECRET_ACCESS_KEY"],
    }


def _quiet_env() -> dict[str, str]:
    from components.project import QUIET_ENV

    return {**os.environ, **QUIET_ENV, "PYTHONUNBUFFERED": "1"}


def join(stack: Stack, project: Project) -> None:
    """Point the checkout's DVC remote at the stack's bucket (`.dvc/config.local`)."""
    from dvc.repo import Repo

    if not (project.root / ".dvc").is_dir():
        Repo.init(str(project.root), no_scm=not (project.root / ".git").exists())
    with Repo(str(project.root)) as repo, repo.config.edit("local") as config:
        config["remote"][REMOTE] = {
            "url": f"s3://{BUCKET}/dvc",
            "endpointurl": stack.s3_endpoint,
            "access_key_id": S3_KEY["AWS_ACCESS_KEY_ID"],
            "secret_access_key": S3_KEY["AWS_SECRET_ACCESS_KEY"],
            "region": REGION,
        }
        config["core"]["remote"] = REMOTE
    if str(project.root) not in stack.joined:
        stack.joined.append(str(project.root))


def leave(checkout: Path) -> None:
    """Remove the stack's DVC remote from a checkout's `.dvc/config.local` (if still there)."""
    from dvc.repo import Repo

    if not (checkout / ".dvc").is_dir():
        return
    with Repo(str(checkout)) as repo, repo.config.edit("local") as config:
        config["remote"].pop(REMOTE, None)
        if config["core"].get("remote") == REMOTE:
            config["core"].pop("remote")


def check_up(folder: Path, database_url: str | None, ports: dict[str, int]) -> None:
    """What `up` is given is usable: no stack up already, a PostgreSQL URL, free ports."""
    existing = Stack.load(folder)
    if existing is not None and any(s.alive() for s in existing.services):
        raise DlopsError(f"a stack is already up ({folder}): `dlops stack status`, or down first")
    if database_url:
        server_url(database_url)
    options = {"--mlflow-port": ports["mlflow"], "--prefect-port": ports["prefect"]}
    options["--s3-port"] = ports["s3"]
    if not database_url:
        options["--postgres-port"] = ports["postgres"]
    _check_ports(options)


def up(
    project: Project,
    folder: Path,
    workers: int,
    database_url: str | None,
    ports: dict[str, int],
) -> Stack:
    """Start the stack (see the module's docstring); on any failure, stop what started."""
    check_up(folder, database_url, ports)
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stack = Stack()
    try:
        _start(stack, project, folder, logs, workers, database_url, ports)
    except BaseException:
        down(stack, folder)
        raise
    stack.save(folder)
    return stack


def _start(stack, project, folder, logs, workers, database_url, ports) -> None:
    # the database
    if database_url:
        stack.database_url = server_url(database_url)
    else:
        start_cluster(stack, folder, ports["postgres"])
    create_databases(stack.database_url)
    server = stack.database_url.removeprefix("postgresql://")
    # the S3 stand-in
    stack.s3_endpoint = f"http://127.0.0.1:{ports['s3']}"
    moto = [_bin("moto_server"), "-H", "127.0.0.1", "-p", str(ports["s3"])]
    s3 = _spawn("s3", moto, _quiet_env(), logs, stack.s3_endpoint)
    stack.services.append(s3)
    _wait(f"{stack.s3_endpoint}/moto-api/", s3, Path(s3.log))
    make_bucket(stack.s3_endpoint)
    # the two servers, started together (each migrates its database on a first start)
    mlflow_url = f"http://127.0.0.1:{ports['mlflow']}"
    mlflow = _spawn(
        "mlflow",
        [
            _bin("mlflow"),
            "server",
            "--backend-store-uri",
            f"postgresql+psycopg://{server}/dlops_mlflow",
            "--artifacts-destination",
            f"s3://{BUCKET}/mlflow",
            "--host",
            "127.0.0.1",
            "--port",
            str(ports["mlflow"]),
            "--workers",
            "2",
        ],
        {
            **_quiet_env(),
            **S3_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "MLFLOW_S3_ENDPOINT_URL": stack.s3_endpoint,
        },
        logs,
        mlflow_url,
    )
    stack.services.append(mlflow)
    prefect_api = f"http://127.0.0.1:{ports['prefect']}/api"
    prefect_env = {
        **_quiet_env(),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{server}/dlops_prefect",
        "PREFECT_UI_ENABLED": "true",
        "PREFECT_HOME": str(folder / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    prefect = _spawn(
        "prefect",
        [
            _bin("prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(ports["prefect"]),
        ],
        prefect_env,
        logs,
        prefect_api.removesuffix("/api"),
    )
    stack.services.append(prefect)
    _wait(f"{mlflow_url}/health", mlflow, Path(mlflow.log))
    _wait(f"{prefect_api}/health", prefect, Path(prefect.log))
    stack.env = {
        "MLFLOW_TRACKING_URI": mlflow_url,
        "PREFECT_API_URL": prefect_api,
        # the tracking store's database: promotions take its lock (components/registry/order.py)
        "DLOPS_REGISTRY_DATABASE_URL": f"{stack.database_url}/dlops_mlflow",
    }
    crash_zombies(prefect_api)
    # the work pool, its family queue and the workers, training in this checkout
    client_env = {**_quiet_env(), **stack.env, "PREFECT_HOME": str(folder / "prefect-home")}
    for argv in (
        [_bin("prefect"), "work-pool", "create", POOL, "--type", "process", "--overwrite"],
        [
            _bin("prefect"),
            "work-queue",
            "create",
            FAMILY_QUEUE,
            "--pool",
            POOL,
            "--limit",
            str(workers),
        ],
    ):
        done = subprocess.run(argv, env=client_env, capture_output=True, text=True)
        if done.returncode != 0 and "already exists" not in done.stdout + done.stderr:
            raise DlopsError(f"{' '.join(argv[1:4])}: {(done.stdout + done.stderr).strip()}")
    join(stack, project)
    worker_env = {**client_env, "DLOPS_PROJECT_DIR": str(project.root)}
    worker_env["PREFECT_WORKER_QUERY_SECONDS"] = "3"  # loopback: pick a new run up quickly
    worker_env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(HEARTBEAT_S)  # for `crash_zombies`
    for number in range(1, workers + 1):
        stack.services.append(
            _spawn(
                f"worker-{number}",
                [
                    _bin("prefect"),
                    "worker",
                    "start",
                    "--pool",
                    POOL,
                    "--type",
                    "process",
                    "--name",
                    f"dlops-worker-{number}",
                ],
                worker_env,
                logs,
            )
        )


HEARTBEAT_S = 30  # a worker's flow runs beat this often; three missed beats: Crashed


def crash_zombies(api_url: str) -> None:
    """The Prefect automation that marks Crashed a flow run whose worker died.

    Prefect's own recipe for self-hosted servers: no heartbeat for three beats. The pipeline
    waiting for that flow run then starts it again, and it resumes from its shared checkpoint.
    """
    from datetime import timedelta

    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        Automation(
            name="dlops: crash zombie flow runs",
            trigger=EventTrigger(
                after={"prefect.flow-run.heartbeat"},
                expect={
                    "prefect.flow-run.heartbeat",
                    "prefect.flow-run.Completed",
                    "prefect.flow-run.Failed",
                    "prefect.flow-run.Cancelled",
                    "prefect.flow-run.Crashed",
                },
                match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=timedelta(seconds=3 * HEARTBEAT_S),
            ),
            actions=[
                ChangeFlowRunState(
                    state=StateType.CRASHED,
                    message=f"no heartbeat for {3 * HEARTBEAT_S} s: its worker is gone",
                )
            ],
        ).create()


def down(stack: Stack, folder: Path) -> list[str]:
    """Stop what `up` started (workers first, the database last); the names stopped."""
    stopped = [s.name for s in reversed(stack.services) if s.alive()]
    workers = [s for s in stack.services if s.name.startswith("worker-")]
    _stop(workers)  # first: they report their flow runs to the servers
    _stop([s for s in stack.services if s not in workers])
    if stack.cluster:
        stop_cluster(stack)
        stopped.append("postgres")
    for checkout in stack.joined:
        leave(Path(checkout))
    (folder / "stack.json").unlink(missing_ok=True)
    return stopped


def status(stack: Stack) -> list[dict[str, str]]:
    """One row per service: whether its process is alive, and where it answers."""
    rows = [
        {"service": s.name, "pid": str(s.pid), "alive": str(s.alive()).lower(), "url": s.url}
        for s in stack.services
    ]
    if stack.cluster or stack.database_url:
        alive = Path(stack.cluster, "data", "postmaster.pid").is_file() if stack.cluster else True
        rows.insert(
            0,
            {
                "service": "postgres",
                "pid": "",
                "alive": str(alive).lower(),
                "url": stack.database_url,
            },
        )
    return rows
