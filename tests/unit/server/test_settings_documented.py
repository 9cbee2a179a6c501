"""Every setting has a description and a row in the README's configuration table."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_server.settings import Settings

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_is_described_and_documented(name: str) -> None:
    field = Settings.model_fields[name]
    assert field.description, f"Settings.{name} has no description"
    assert f"| `CSVANALYST_{name.upper()}` |" in README, (
        f"CSVANALYST_{name.upper()} is missing from README.md"
    )


def test_readme_has_exactly_the_two_setup_commands_ci_runs() -> None:
    setup = README.split("## Set up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in setup.strip().splitlines()]
    assert commands == ["./dev demo", "./dev test"]
    ci = (Path(__file__).resolve().parents[3] / ".ci" / "run").read_text()
    assert "./dev test" in ci
