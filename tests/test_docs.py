"""The documentation stays honest: every command is documented, every documented command exists."""

import re
from pathlib import Path

from monitor.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_is_in_the_readme_and_every_readme_command_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`stormwatch ([a-z-]+)", readme))
    registered = set(main.commands)
    assert registered - documented == set(), "commands missing from README"
    assert documented - registered == set(), "README documents commands that do not exist"


def test_design_contract_options_exist():
    options = {name: {p.name for p in command.params} for name, command in main.commands.items()}
    assert {"config_path", "input_path", "out_path"} <= options["backtest"]
    assert {"config_path", "host", "port"} <= options["run"]
    assert {"model_dir", "jsonl"} <= options["classify"]
