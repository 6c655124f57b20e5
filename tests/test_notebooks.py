"""The example notebooks execute from top to bottom (they assert on their own results)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))


def test_there_is_a_notebook_per_method():
    assert {p.stem for p in NOTEBOOKS} >= {"asset", "assembly", "spotdis"}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    # the last cell displays the dashboard page: Panel's output for the notebook
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    kinds = {k for o in last.outputs for k in o.get("data", {})}
    assert any("panel" in k or "holoviews" in k or k == "text/html" for k in kinds), kinds
