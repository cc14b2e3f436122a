"""Every `eventwall` command answers bad input in a line or two, with a non-zero exit, and
never a traceback (unless --debug)."""

from __future__ import annotations

import logging
import socket
import typing
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from server.cli import build_parser, main
from tests.helpers import eventwall, post_dict, write_jsonl
from tests.test_docs import cli_commands
from wall.settings import Settings, free_form_names

# Commands that start servers, checked in real subprocesses below rather than in-process.
LONG_RUNNING = {"eventwall run", "eventwall web", "eventwall ingest worker"}


@pytest.fixture
def cli(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[typing.Callable[..., tuple[int, str, str]]]:
    """Run the command line in this process on the test Redis: (exit code, stdout, stderr)."""
    for f in fields(Settings):
        monkeypatch.delenv(f.name.upper(), raising=False)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DEMO", "false")
    handlers = logging.getLogger().handlers[:]

    def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own usage errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    logging.getLogger().handlers[:] = handlers


def _flush(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()


# (command line, a phrase the error must hold). "{dir}" is a private folder, "{file}" a
# JSONL file in it; the event "pycon" exists, "nosuch" does not.
BAD_INPUTS: list[tuple[list[str], str]] = [
    (["ingest", "replay", "{dir}/missing.jsonl", "--event", "pycon"], "no such file"),
    (["ingest", "replay", "{dir}", "--event", "pycon"], "is a folder"),
    (["ingest", "replay", "{file}", "--event", "Bad Slug"], "not a slug"),
    (["event", "create", "pycon", "--title", "Again"], "--replace"),
    (["event", "create", "Bad Slug", "--title", "X"], "slug"),
    (["event", "create", "other", "--title", "X", "--accent", "red"], "accent"),
    (["event", "update", "nosuch", "--venue", "Hall"], "no event"),
    (["event", "update", "pycon", "--starts-at", "yesterday"], "starts_at"),
    (["event", "mode", "nosuch", "post"], "nosuch"),
    (["event", "rebuild-stats", "nosuch"], "no event"),
    (["moderator", "add", "not-an-email", "--event", "pycon"], "email"),
    (["moderator", "add", "ada@example.org"], "choose an event"),
    (["moderator", "add", "ada@example.org", "--event", "nosuch"], "no event"),
    (["moderator", "reset", "nobody@example.org"], "no moderator"),
    (["moderator", "remove", "nobody@example.org"], "no moderator"),
    (["source", "add", "rss", "--url", "https://example.org/f", "--event", "nosuch"], "no event"),
    (["source", "add", "rss", "--url", "ftp://example.org/f", "--event", "pycon"], "url"),
    (["source", "remove", "nosuch"], "no source"),
    (["optout", "add", "@ada@example.org", "--event", "nosuch"], "nosuch"),
    (["optout", "remove", "@ada@example.org", "--event", "nosuch"], "nosuch"),
    (["optout", "list", "--event", "nosuch"], "no event"),
    (["export", "nosuch", "--format", "csv", "--out", "{dir}/x.csv"], "no event"),
    (["export", "pycon", "--format", "csv", "--out", "{dir}/missing/x.csv"], "no folder"),
    (["export", "pycon", "--format", "jsonl", "--out", "{dir}"], "is a folder"),
    (["export", "pycon", "--format", "html", "--out", "{file}"], "is a file"),
]


def _first_word_commands(argv: list[str]) -> str:
    parts = ["eventwall"]
    for word in argv:
        candidate = " ".join([*parts, word])
        if any(c == candidate or c.startswith(candidate + " ") for c in cli_commands()):
            parts.append(word)
        else:
            break
    return " ".join(parts)


def test_the_table_walks_every_command() -> None:
    """Every subcommand has at least one bad input below (servers: in subprocesses)."""
    walked = {_first_word_commands(argv) for argv, _ in BAD_INPUTS} | LONG_RUNNING
    walked |= {"eventwall source list", "eventwall optout list", "eventwall moderator list"}
    missing = set(cli_commands(build_parser())) - walked
    assert not missing, f"no bad input tried for: {sorted(missing)}"


def _check_one_line(code: int, err: str, phrase: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip() and " INFO " not in line]
    assert 1 <= len(lines) <= 2, err
    assert phrase.lower() in err.lower(), err


@pytest.mark.parametrize(("argv", "phrase"), BAD_INPUTS, ids=lambda v: " ".join(v)[:60])
def test_bad_input_is_one_line(
    cli: typing.Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    redis_url: str,
    tmp_path: Path,
    argv: list[str],
    phrase: str,
) -> None:
    """A bad argument is refused in a line or two naming it, with a non-zero exit."""
    _flush(redis_url)
    folder = tmp_path / "in"
    folder.mkdir()
    jsonl = write_jsonl(folder / "posts.jsonl", [post_dict("1")])
    assert cli("event", "create", "pycon", "--title", "PyCon", capsys=capsys)[0] == 0
    filled = [a.replace("{dir}", str(folder)).replace("{file}", str(jsonl)) for a in argv]
    code, _, err = cli(*filled, capsys=capsys)
    _check_one_line(code, err, phrase)


def test_event_create_replaces_only_when_asked(
    cli: typing.Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    redis_url: str,
) -> None:
    """An existing slug is refused, as /admin refuses it, and replaced with --replace."""
    _flush(redis_url)
    assert cli("event", "create", "pycon", "--title", "One", capsys=capsys)[0] == 0
    assert cli("event", "create", "pycon", "--title", "Two", capsys=capsys)[0] == 2
    code, out, _ = cli("event", "create", "pycon", "--title", "Two", "--replace", capsys=capsys)
    assert code == 0 and "pycon" in out


def test_empty_lists_say_so(
    cli: typing.Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    redis_url: str,
) -> None:
    """`source list` and `optout list` with nothing in them say "no sources", "no opt-outs"."""
    _flush(redis_url)
    assert cli("event", "create", "pycon", "--title", "PyCon", capsys=capsys)[0] == 0
    code, out, _ = cli("source", "list", capsys=capsys)
    assert code == 0 and "no sources" in out
    code, out, _ = cli("optout", "list", "--event", "pycon", capsys=capsys)
    assert code == 0 and "no opt-outs" in out


@pytest.mark.parametrize(("mode", "said"), [("pre", "2 pending"), ("post", "2 approved")])
def test_replay_says_what_happened(
    cli: typing.Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    redis_url: str,
    tmp_path: Path,
    mode: str,
    said: str,
) -> None:
    """A replay counts its new posts by the state they are in; pending ones point at the console."""
    _flush(redis_url)
    create = ("event", "create", "pycon", "--title", "PyCon", "--moderation", mode)
    assert cli(*create, capsys=capsys)[0] == 0
    jsonl = write_jsonl(tmp_path / "p.jsonl", [post_dict("1"), post_dict("2")])
    code, out, _ = cli("ingest", "replay", str(jsonl), "--event", "pycon", capsys=capsys)
    assert code == 0 and said in out
    assert ("/e/pycon/moderate" in out) == (mode == "pre")


def _bad_value(name: str, default: object) -> str | None:
    if isinstance(default, bool):
        return "maybe"
    if isinstance(default, int | float):
        return "-5" if name != "PORT" else "99999"
    if isinstance(default, str) and default.startswith(("https://", "wss://")):
        return "example.org"  # a URL setting given a bare host
    return {
        "REDIS_URL": "localhost:6379",
        "LOG_FORMAT": "xml",
        "PUBLIC_URL": "wall.example.org",
        "HOST": "not an address",
        "EMBED_ORIGINS": "javascript:alert(1)",
        "PROMETHEUS_MULTIPROC_DIR": "relative/folder",
    }.get(name)


# Any text is a valid value of these: there is no bad one to try.
FREE_FORM = {"SECRET_KEY", "METRICS_TOKEN", "FORWARDED_ALLOW_IPS", "ALLOWED_HOSTS"}
# Checked by a test of its own (a folder that is a file, for a server).
OWN_TEST = {"DATA_DIR"}


def test_every_setting_has_a_bad_value_tried() -> None:
    """Each setting is either checked below or declared free-form on purpose."""
    untried = [
        f.name.upper()
        for f in fields(Settings)
        if _bad_value(f.name.upper(), f.default) is None
        and f.name.upper() not in FREE_FORM | OWN_TEST
    ]
    assert not untried, f"no bad value tried for {untried}"
    assert free_form_names() - {"EMBED_ORIGINS"} <= FREE_FORM


@pytest.mark.parametrize("name", [f.name.upper() for f in fields(Settings)])
def test_bad_setting_is_one_line_naming_it(
    cli: typing.Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    """A bad value of any setting stops the command in one line naming the variable."""
    default = next(f.default for f in fields(Settings) if f.name.upper() == name)
    value = _bad_value(name, default)
    if value is None:
        pytest.skip(f"{name}: any text is valid, or it has a test of its own")
    monkeypatch.setenv(name, value)
    for argv in (["source", "list"], ["ingest", "replay", "x.jsonl", "--event", "pycon"]):
        code, _, err = cli(*argv, capsys=capsys)
        _check_one_line(code, err, name)


def test_data_dir_that_is_a_file(
    cli: typing.Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A DATA_DIR that can't be a folder stops a server in one line naming DATA_DIR."""
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "afile"))
    code, _, err = cli("ingest", "worker", capsys=capsys)
    _check_one_line(code, err, "DATA_DIR")


def test_unanswering_redis_is_one_line_and_debug_shows_more(
    cli: typing.Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Redis that does not answer is one line naming REDIS_URL; --debug raises instead."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    code, _, err = cli("source", "list", capsys=capsys)
    _check_one_line(code, err, "REDIS_URL")
    with pytest.raises(Exception, match="onnect"):
        main(["--debug", "source", "list"])


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port with a listener on it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("command", ["run", "web"])
def test_port_in_use_is_one_line(env: dict[str, str], taken_port: int, command: str) -> None:
    """`eventwall run|web` on a port in use says so in one line and exits 1 (real process)."""
    done = eventwall(command, env={**env, "PORT": str(taken_port), "HOST": "127.0.0.1"})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "Task exception" not in done.stderr
    assert f"port {taken_port} on 127.0.0.1 is already in use" in done.stderr


@pytest.mark.parametrize(("name", "value"), [("PORT", "99999"), ("SEND_TIMEOUT", "soon")])
def test_bad_setting_in_a_real_process(env: dict[str, str], name: str, value: str) -> None:
    """`eventwall web` with a bad setting: one line naming it, exit 2 (real process)."""
    done = eventwall("web", env={**env, name: value})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == done.stderr.strip().splitlines()[0]
    assert name in done.stderr


def test_moderator_add_prints_an_initial_password_once(
    cli: typing.Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    redis_url: str,
) -> None:
    """A new moderator gets a generated password to change; adding an event keeps it."""
    _flush(redis_url)
    assert cli("event", "create", "pycon", "--title", "PyCon", capsys=capsys)[0] == 0
    assert cli("event", "create", "other", "--title", "Other", capsys=capsys)[0] == 0
    code, out, _ = cli("moderator", "add", "ada@example.org", "--event", "pycon", capsys=capsys)
    assert code == 0 and "initial password (shown once; changed at first login): " in out
    code, out, _ = cli("moderator", "add", "ada@example.org", "--event", "other", capsys=capsys)
    assert code == 0 and "password unchanged" in out and "other, pycon" in out
    code, out, _ = cli("moderator", "list", capsys=capsys)
    assert "ada@example.org\tmoderator of other, pycon" in out
