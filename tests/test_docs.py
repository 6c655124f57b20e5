"""The Python examples in the README and the method docs run as written."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# every doc with a Python example (docs/development.md and docs/reports.md have none)
DOCS = ["README.md"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")
                              if "```python" in p.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS)
def test_examples_run(doc, tmp_path, monkeypatch):
    text = (ROOT / doc).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, f"{doc} has no Python example"
    # fewer surrogates keep the suite fast; the code is otherwise exactly the doc's
    code = "\n".join(blocks).replace("n_surrogates=999", "n_surrogates=99")
    monkeypatch.chdir(tmp_path)  # examples may write files
    exec(compile(code, doc, "exec"), {"__name__": "__doc_example__"})
