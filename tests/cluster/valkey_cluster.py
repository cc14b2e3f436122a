"""A real Valkey Cluster on loopback: 3 primaries, each with one replica, from the embedded binary.

Built by hand (CLUSTER ADDSLOTSRANGE, MEET, REPLICATE) rather than with `valkey-cli --cluster
create`, so every step waits for exactly the state it needs and nothing sleeps a fixed time.
A short `cluster-node-timeout` makes a killed primary's replica take over within seconds.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.helpers import deadline
from wall.redis_server import free_port, valkey_binary

SLOTS = 16384
NODE_TIMEOUT_MS = 1000


@dataclass
class Node:
    """One valkey-server of the cluster, on its own port and folder."""

    port: int
    bus_port: int  # the cluster bus; not port + 10000, which may be taken or out of range
    dir: Path
    process: subprocess.Popen[bytes] | None = None
    id: str = ""

    def client(self, timeout: float = 2.0) -> redis.Redis:
        """A plain (not cluster-aware) client of this node alone."""
        return redis.Redis(
            port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout, protocol=2
        )

    def start(self) -> None:
        """Start (or restart, on the same port and nodes.conf) this node."""
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [
            valkey_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--cluster-enabled", "yes",
            "--cluster-port", str(self.bus_port),
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
            # Keep the shape the tests expect: no replica wanders to another primary.
            "--cluster-allow-replica-migration", "no",
            "--appendonly", "no",
            "--save", "",
            # A replica's first sync starts at once instead of after the default 5 s.
            "--repl-diskless-sync", "yes",
            "--repl-diskless-sync-delay", "0",
            "--daemonize", "no",
            "--logfile", "valkey.log",
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        _until(self._answers, f"valkey on port {self.port} to answer")

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = (self.dir / "valkey.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"valkey on port {self.port} exited: {log}")
        try:
            with self.client(0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown, no last write."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.process = None

    def info(self, section: str) -> dict[str, str]:
        """One INFO / CLUSTER INFO section as text pairs."""
        with self.client() as client:
            if section == "cluster":
                raw = client.execute_command("CLUSTER", "INFO")
                text = raw.decode() if isinstance(raw, bytes) else str(raw)
                return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            return {k: str(v) for k, v in client.info(section).items()}


@dataclass
class ValkeyCluster:
    """Three primaries with a replica each; `url` is the `redis+cluster://` Eventwall takes."""

    root: Path
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The setting that names this cluster (any node is a seed)."""
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    def start(self) -> ValkeyCluster:
        """Start six nodes, give the primaries the slots, join them, attach the replicas."""
        self.nodes = [Node(free_port(), free_port(), self.root / f"node{i}") for i in range(6)]
        try:
            self._form()
        except BaseException:
            self.stop()
            raise
        return self

    def _form(self) -> None:
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            with node.client() as client:
                node.id = _text(client.execute_command("CLUSTER", "MYID"))
        per = SLOTS // 3
        for i, node in enumerate(self.nodes[:3]):
            last = SLOTS - 1 if i == 2 else (i + 1) * per - 1
            with node.client() as client:
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", i * per, last)
        with self.nodes[0].client() as client:
            for node in self.nodes[1:]:
                client.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, node.bus_port)
        _until(self._all_known, "every node to know the other five")
        for primary, replica in zip(self.nodes[:3], self.nodes[3:], strict=True):
            with replica.client() as client:
                client.execute_command("CLUSTER", "REPLICATE", primary.id)
        self.wait_healthy()

    def _all_known(self) -> bool:
        for node in self.nodes:
            with node.client() as client:
                lines = _text(client.execute_command("CLUSTER", "NODES")).splitlines()
            if len(lines) < len(self.nodes) or any("handshake" in line for line in lines):
                return False
        return True

    def heal(self) -> None:
        """Restart any node a test killed (it rejoins as a replica) and wait for a whole cluster."""
        for node in self.nodes:
            if node.process is None:
                node.start()
        self.wait_healthy()

    def wait_healthy(self) -> None:
        """Until every live node says cluster_state:ok and every primary has a linked replica."""
        _until(self._healthy, "the cluster to be ok with a linked replica per primary")

    def _healthy(self) -> bool:
        live = [n for n in self.nodes if n.process is not None]
        if len(live) < len(self.nodes):
            return False
        try:
            if any(n.info("cluster").get("cluster_state") != "ok" for n in live):
                return False
            primaries = [n for n in live if n.info("replication").get("role") == "master"]
            links = [n.info("replication") for n in live if n not in primaries]
        except redis.RedisError:
            return False
        return (
            len(primaries) == 3
            and all(int(p.info("replication").get("connected_slaves", 0)) == 1 for p in primaries)
            and all(r.get("master_link_status") == "up" for r in links)
        )

    def primary_of(self, key: str) -> Node:
        """The node serving this key's slot now, as the live nodes see it."""
        for node in self.nodes:
            if node.process is None:
                continue
            with node.client() as client:
                slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
                for start, end, owner, *_ in client.execute_command("CLUSTER", "SLOTS"):
                    if int(start) <= slot <= int(end):
                        return next(n for n in self.nodes if n.port == int(owner[1]))
        raise LookupError(f"no live node serves {key}")

    def replica_of(self, primary: Node) -> Node:
        """The node that replicates this primary."""
        for node in self.nodes:
            if node is primary or node.process is None:
                continue
            info = node.info("replication")
            if info.get("role") == "slave" and int(info.get("master_port", 0)) == primary.port:
                return node
        raise LookupError(f"no replica of port {primary.port}")

    def stop(self) -> None:
        """Kill every node (the data is throwaway)."""
        for node in self.nodes:
            node.kill()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _until(condition: object, what: str, timeout: float = 20.0) -> None:
    """Poll `condition()` until true, failing after a scaled deadline (never a fixed wait)."""
    end = time.monotonic() + deadline(timeout)
    while not condition():  # type: ignore[operator]
        if time.monotonic() > end:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)
