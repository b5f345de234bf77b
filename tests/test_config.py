"""Settings precedence: flag > RAGKIT_* environment > TOML config file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragkit.config import Settings, load_settings
from ragkit.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_source(tmp_path: Path) -> None:
    settings = load_settings(environ={"RAGKIT_CONFIG": str(write(tmp_path / "empty.toml", ""))})
    assert settings.collection == "default"
    assert settings.top_k == Settings().top_k
    assert settings.model == "qwen2.5-coder-1.5b"


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", 'top_k = 7\ncollection = "from-file"\nmin_score = 0.5\n')
    env = {"RAGKIT_CONFIG": str(config), "RAGKIT_TOP_K": "9", "RAGKIT_DATA_DIR": str(tmp_path / "env")}
    only_file_and_env = load_settings(environ=env)
    assert only_file_and_env.collection == "from-file"  # file beats default
    assert only_file_and_env.top_k == 9  # env beats file
    assert only_file_and_env.min_score == 0.5
    assert only_file_and_env.data_dir == tmp_path / "env"

    flagged = load_settings({"top_k": 3, "data_dir": tmp_path / "flag", "collection": None}, environ=env)
    assert flagged.top_k == 3  # flag beats env
    assert flagged.data_dir == tmp_path / "flag"
    assert flagged.collection == "from-file"  # a flag not given (None) does not override


def test_explicit_config_file_argument_beats_env_variable(tmp_path: Path) -> None:
    a = write(tmp_path / "a.toml", "top_k = 2\n")
    b = write(tmp_path / "b.toml", "top_k = 4\n")
    assert load_settings(config_file=b, environ={"RAGKIT_CONFIG": str(a)}).top_k == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("top_k = 'many'\n", "top_k must be int"),
        ("colour = 'blue'\n", "unknown setting(s) colour"),
        ("top_k = [\n", "invalid TOML"),
        ("collection = 'a b'\n", "invalid collection name"),
        ("chunk_overlap = 500\n", "chunk_overlap"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    config = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as err:
        load_settings(config_file=config, environ={})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RAGKIT_TOP_K"):
        load_settings(environ={"RAGKIT_TOP_K": "lots", "RAGKIT_CONFIG": str(write(tmp_path / "e.toml", ""))})


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(config_file=tmp_path / "nope.toml", environ={})


def test_default_config_file_is_read_from_user_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "ragkit").mkdir()
    write(tmp_path / "ragkit" / "config.toml", "top_k = 11\n")
    assert load_settings(environ={}).top_k == 11


def test_switches_from_toml_env_and_flag(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "follow_symlinks = true\nmax_file_mb = 50\n")
    assert load_settings(environ={"RAGKIT_CONFIG": str(config)}).follow_symlinks is True
    env = {"RAGKIT_CONFIG": str(config), "RAGKIT_FOLLOW_SYMLINKS": "no", "RAGKIT_MAX_FILE_MB": "5"}
    from_env = load_settings(environ=env)
    assert from_env.follow_symlinks is False and from_env.max_file_mb == 5
    assert load_settings({"follow_symlinks": True}, environ=env).follow_symlinks is True
    with pytest.raises(ConfigError, match="RAGKIT_FOLLOW_SYMLINKS: follow_symlinks must be bool, got 'maybe'"):
        load_settings(environ={**env, "RAGKIT_FOLLOW_SYMLINKS": "maybe"})
    with pytest.raises(ConfigError, match="max_file_mb must be positive"):
        load_settings(environ={**env, "RAGKIT_MAX_FILE_MB": "0"})


def test_gpu_layers_auto_all_or_a_number(tmp_path: Path) -> None:
    from ragkit.llm import accelerator, gpu_layers, placement

    env = {"RAGKIT_CONFIG": str(write(tmp_path / "empty.toml", ""))}
    assert load_settings(environ=env | {"RAGKIT_N_GPU_LAYERS": "auto"}).n_gpu_layers is None
    assert load_settings(environ=env | {"RAGKIT_N_GPU_LAYERS": "12"}).n_gpu_layers == 12
    with pytest.raises(ConfigError, match="n_gpu_layers"):
        load_settings(environ=env | {"RAGKIT_N_GPU_LAYERS": "-2"})
    assert gpu_layers(7) == 7 and gpu_layers(-1) == -1
    if not accelerator():  # this CPU build: auto offloads nothing
        assert gpu_layers(None) == 0
    assert placement(0, 2) == "CPU, 2 threads"


def test_flash_attention_is_off_unless_asked_for(tmp_path: Path) -> None:
    env = {"RAGKIT_CONFIG": str(write(tmp_path / "empty.toml", ""))}
    assert not load_settings(environ=env).flash_attn
    assert load_settings(environ=env | {"RAGKIT_FLASH_ATTN": "1"}).flash_attn
    assert load_settings({"flash_attn": True}, environ=env).flash_attn


def test_settings_that_name_a_server_leave_the_environment_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.delenv("NO_PROXY", raising=False)  # an earlier test's client may have set it
    monkeypatch.delenv("no_proxy", raising=False)
    before = dict(os.environ)
    settings = load_settings({"store_url": "http://127.0.0.1:8000", "allow_remote": ("gpu-box",)}, environ={})
    assert dict(os.environ) == before  # no NO_PROXY written until a client is built
    assert settings.environment(["store_url", "allow_remote", "min_confidence"]) == {
        "RAGKIT_STORE_URL": "http://127.0.0.1:8000",
        "RAGKIT_ALLOW_REMOTE": "gpu-box",
        "RAGKIT_MIN_CONFIDENCE": "",
    }
    assert load_settings(environ=settings.environment(["store_url", "allow_remote"])) == settings
