from ansinh.rules.parameters import get_parameters
from ansinh.rules.report import README, readme_block


def test_the_readme_lists_every_unconfirmed_figure():
    text = README.read_text(encoding="utf-8")
    assert readme_block(get_parameters()) in text, (
        "README's table of unconfirmed figures is stale: run `.venv/bin/python -m ansinh.rules.report --write`")
