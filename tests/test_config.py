from dataclasses import dataclass, field

import pytest

from pinhan.config import from_mapping, load_yaml, merge, parse_overrides
from pinhan.errors import ConfigError


@dataclass
class Example:
    name: str = "x"
    steps: int = 10
    lr: float = 1e-3
    flag: bool = False
    items: list[str] = field(default_factory=list)
    maybe: int | None = None


def test_from_mapping_types_and_unknown_keys():
    cfg = from_mapping(Example, {"steps": 5, "lr": 1, "items": "a", "maybe": None})
    assert cfg.steps == 5 and cfg.lr == 1.0 and isinstance(cfg.lr, float) and cfg.items == ["a"]
    with pytest.raises(ConfigError, match=r"unknown key\(s\) in config: stepz"):
        from_mapping(Example, {"stepz": 5})
    with pytest.raises(ConfigError, match=r"config.steps must be an integer, got 'five'"):
        from_mapping(Example, {"steps": "five"})
    with pytest.raises(ConfigError, match="config.flag must be true or false"):
        from_mapping(Example, {"flag": 1})
    with pytest.raises(ConfigError, match="config.maybe must be an integer"):
        from_mapping(Example, {"maybe": 1.5})


def test_overrides_and_merge():
    assert parse_overrides(["steps=3", "a.b=x", "lr=3e-4", "flag=true"]) == {"steps": 3, "a": {"b": "x"}, "lr": 3e-4, "flag": True}
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["steps"])
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}


def test_load_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1,", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid yaml"):
        load_yaml(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_yaml(tmp_path / "list.yaml")
    (tmp_path / "ok.yaml").write_text("steps: 4\n", encoding="utf-8")
    assert load_yaml(tmp_path / "ok.yaml") == {"steps": 4}
