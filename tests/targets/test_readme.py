from ansinh.targets.indicators.report import README, readme_block


def test_the_readme_lists_every_indicator():
    assert readme_block() in README.read_text(encoding="utf-8"), (
        "README's table of indicators is stale: run `.venv/bin/python -m ansinh.targets.indicators.report --write`")
