"""The public websocket is read-only: input is ignored, a flood of it closes the socket."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.sockets import MAX_CLIENT_MESSAGES_PER_MINUTE, POLICY_VIOLATION
from tests.helpers import deadline, eventwall, post_dict, write_jsonl
from tests.processes import WebServer


def test_input_is_ignored_and_a_flood_closes_the_socket(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A client's messages change nothing and get no answer; past the per-minute limit
    the socket is closed with 1008, while live posts still reach a quiet client."""
    path = write_jsonl(tmp_path / "one.jsonl", [post_dict("one")])
    assert eventwall("ingest", "replay", str(path), "--event", "sockets", env=env).returncode == 0
    with WebServer(env) as server:
        url = f"{server.ws_base}/e/sockets/ws"
        with connect(url) as quiet, connect(url) as noisy:
            noisy.send('{"type": "approve", "post_id": "test:one"}')
            noisy.send('<div hx-swap-oob="innerHTML:#posts"></div>')
            with pytest.raises(TimeoutError):
                noisy.recv(timeout=0.3)  # nothing is echoed or acted on
            later = write_jsonl(tmp_path / "two.jsonl", [post_dict("two")])
            assert (
                eventwall("ingest", "replay", str(later), "--event", "sockets", env=env).returncode
                == 0
            )
            assert "post-test_two" in str(quiet.recv(timeout=deadline(5)))
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(MAX_CLIENT_MESSAGES_PER_MINUTE * 2):
                    noisy.send("x")
                while True:
                    noisy.recv(timeout=deadline(5))
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == POLICY_VIOLATION
