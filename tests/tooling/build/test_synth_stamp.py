"""tooling.build.synth_stamp: ``invoke synth`` is skipped only when none of its inputs changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.build import synth_stamp

STACKS = ("tap-dev-ap-southeast-1-app", "tap-dev-ap-southeast-1-network")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one file of each input kind and a built zip."""
    (tmp_path / "platform.toml").write_text('[platform]\nname = "tap"\n', encoding="utf-8")
    (tmp_path / "constraints.txt").write_text("cdktf==0.21.0\n", encoding="utf-8")
    source = tmp_path / "infra" / "src" / "trading_infra"
    source.mkdir(parents=True)
    (tmp_path / "infra" / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    (source / "stacks.py").write_text("STACK = 1\n", encoding="utf-8")
    (source / "profiles.toml").write_text("[dev]\nmemory_mib = 256\n", encoding="utf-8")
    (tmp_path / "docs" / "api").mkdir(parents=True)
    (tmp_path / "docs" / "api" / "openapi.json").write_text('{"paths": {}}', encoding="utf-8")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "processor.zip").write_bytes(b"zip-v1")
    (tmp_path / "README.md").write_text("# readme\n", encoding="utf-8")
    return tmp_path


def _stamp(
    repo: Path,
    *,
    selection: tuple[str, ...] = ("dev",),
    target: str = "local",
    port: int = 4566,
    configuration: str = "{}",
) -> str:
    zips = sorted((repo / "dist").glob("*.zip"))
    return synth_stamp.compute(
        repo,
        zips=zips,
        selection=selection,
        target=target,
        port=port,
        configuration=configuration,
    )


def _synthesized(repo: Path, stamp: str) -> Path:
    """GIVEN a complete synth of STACKS recorded with ``stamp``."""
    outdir = repo / "cdktf.out"
    for stack in STACKS:
        (outdir / "stacks" / stack).mkdir(parents=True)
        (outdir / "stacks" / stack / "cdk.tf.json").write_text("{}", encoding="utf-8")
    synth_stamp.write(outdir, stamp, STACKS)
    return outdir


def test_the_same_inputs_give_the_same_stamp_and_the_synth_is_current(repo: Path) -> None:
    outdir = _synthesized(repo, _stamp(repo))

    assert _stamp(repo) == _stamp(repo)
    assert synth_stamp.is_current(outdir, _stamp(repo))
    assert synth_stamp.recorded_stacks(outdir) == sorted(STACKS)


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("platform.toml", '[platform]\nname = "tap2"\n'),  # one line of configuration
        ("constraints.txt", "cdktf==0.21.1\n"),  # a pinned version
        ("infra/pyproject.toml", '[project]\nname = "x"\n'),
        ("infra/src/trading_infra/stacks.py", "STACK = 2\n"),  # infra source
        ("infra/src/trading_infra/profiles.toml", "[dev]\nmemory_mib = 512\n"),
        ("infra/src/trading_infra/new_module.py", "NEW = 1\n"),  # a new source file
        ("docs/api/openapi.json", '{"paths": {"/health": {}}}'),  # the API's routes
    ],
)
def test_changing_an_input_file_makes_the_synth_stale(repo: Path, path: str, content: str) -> None:
    outdir = _synthesized(repo, _stamp(repo))

    (repo / path).write_text(content, encoding="utf-8")

    assert not synth_stamp.is_current(outdir, _stamp(repo))


def test_a_rebuilt_zip_with_other_bytes_makes_the_synth_stale(repo: Path) -> None:
    outdir = _synthesized(repo, _stamp(repo))

    (repo / "dist" / "processor.zip").write_bytes(b"zip-v2")

    assert not synth_stamp.is_current(outdir, _stamp(repo))


@pytest.mark.parametrize(
    "changed",
    [
        {"selection": ("dev", "prod")},
        {"target": "aws"},
        {"port": 4700},  # the emulator endpoint is part of the local stacks
        # the same files loaded with TAP_UNPROTECTED_ENVIRONMENTS: another configuration
        {"configuration": '{"protect_data": false}'},
    ],
)
def test_another_selection_target_port_or_configuration_makes_the_synth_stale(
    repo: Path, changed: dict[str, object]
) -> None:
    outdir = _synthesized(repo, _stamp(repo))

    assert not synth_stamp.is_current(outdir, _stamp(repo, **changed))  # type: ignore[arg-type]


def test_the_order_of_the_selection_does_not_matter(repo: Path) -> None:
    assert _stamp(repo, selection=("dev", "prod")) == _stamp(repo, selection=("prod", "dev"))


def test_files_that_are_no_input_do_not_change_the_stamp(repo: Path) -> None:
    before = _stamp(repo)

    (repo / "README.md").write_text("# another readme\n", encoding="utf-8")
    (repo / "infra" / "src" / "trading_infra" / "notes.txt").write_text("x", encoding="utf-8")

    assert _stamp(repo) == before


def test_a_missing_stack_directory_makes_the_synth_stale(repo: Path) -> None:
    outdir = _synthesized(repo, _stamp(repo))

    (outdir / "stacks" / STACKS[0] / "cdk.tf.json").unlink()

    assert not synth_stamp.is_current(outdir, _stamp(repo))


@pytest.mark.parametrize("record", [None, "not json"])
def test_no_or_an_unreadable_record_is_never_current_and_records_no_stacks(
    repo: Path, record: str | None
) -> None:
    outdir = repo / "cdktf.out"
    outdir.mkdir()
    if record is not None:
        (outdir / synth_stamp.STAMP_FILE).write_text(record, encoding="utf-8")

    assert not synth_stamp.is_current(outdir, "x")
    assert synth_stamp.recorded_stacks(outdir) == []


def test_a_record_without_stacks_is_never_current(repo: Path) -> None:
    outdir = repo / "cdktf.out"
    outdir.mkdir()
    synth_stamp.write(outdir, "x", [])

    assert not synth_stamp.is_current(outdir, "x")
