"""The SPOTDis page in headless Chromium: run on the pulse-pattern demo, tap, colour toggle,
epochs cut around typed events."""

import re

import pytest

from ui_helpers import grid, hover_until, open_app, open_with_demo, set_number, wait_for_units

pytestmark = pytest.mark.browser

PULSE_DEMO = "Pulse patterns (300 epochs, 50 units)"


def open_spotdis_page(page, url):
    open_with_demo(page, url, PULSE_DEMO, 50, "SPOTDis")


def screenshot(page, path, height=1500):
    page.set_viewport_size({"width": 1400, "height": height})
    page.evaluate("document.querySelector('#main').scrollTo(0, 0)")
    page.wait_for_timeout(2000)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 900})


def test_run_on_the_pulse_demo_and_its_tooltips(served_app, page, artifacts_dir):
    """A run on the pulse demo, and its tooltips (issue 13): the raster names the unit and
    counts the spikes under the cursor, the SPOTDis matrix names both epochs and their
    clusters, and the t-SNE map shows one epoch however many dots lie under the cursor.
    (One run for both: the tooltips need the very run the page test makes.)"""
    open_app(page, served_app)
    page.locator("select").first.select_option(PULSE_DEMO)
    page.get_by_role("button", name="Load demo").click()
    wait_for_units(page, 50)
    # the pulse demo's units are "0".."49": the tooltip shows such an id, never a y coordinate
    raster = page.locator(".bk-Canvas:visible").first
    raster.wait_for(timeout=30_000)
    page.wait_for_timeout(2000)
    text = hover_until(page, raster, [(x, y / 400) for x in (0.3, 0.5)
                                         for y in range(120, 280)],
                       r"spikes in pixel:?\s*[1-9]")
    page.screenshot(path=str(artifacts_dir / "hover_raster.png"))
    unit = re.search(r"unit:?\s*(\S+)", text)
    assert unit and unit.group(1) in {str(u) for u in range(50)}, text
    assert re.search(r"spikes in pixel:?\s*[1-9]\d*\s*$", text), text
    assert "NaN" not in text, text

    page.get_by_role("button", name="SPOTDis", exact=True).click()
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"300 epochs, 50 units")).first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Run", exact=True).click()
    summary = page.get_by_text(re.compile(r"clusters.*ARI")).first
    summary.wait_for(timeout=120_000)
    text = summary.inner_text()
    assert "ARI 1.000" in text, text
    assert "undefined epoch pairs" in text
    # matrix, map, epoch raster and cross-correlation: four canvases
    page.locator(".bk-Canvas:visible").nth(3).wait_for(timeout=60_000)
    page.get_by_text("Selected epoch and cluster").first.wait_for(timeout=10_000)

    # the tooltips of the matrix and of the map
    page.wait_for_timeout(2000)
    matrix, tsne = (page.locator(".bk-Canvas:visible").nth(i) for i in (0, 1))
    epoch = r"epoch \d+ \((cluster \d+|noise)\)"
    text = hover_until(page, matrix, [(0.5, 0.5)], rf"row:?\s*{epoch}")
    page.screenshot(path=str(artifacts_dir / "hover_spotdis_matrix.png"))
    assert re.search(rf"row:?\s*{epoch}", text), text
    assert re.search(rf"column:?\s*{epoch}", text), text
    assert re.search(r"SPOTDis:?\s*\d\.\d{3}", text), text
    assert "rank" not in text, text
    text = hover_until(page, tsne, grid(24), r"epoch:?\s*\d+")
    page.screenshot(path=str(artifacts_dir / "hover_spotdis_map.png"))
    assert re.search(r"cluster:?\s*-?\d+", text), text
    assert len(re.findall(r"epoch", text)) == 1, text
    page.mouse.move(0, 0)  # no tooltip in the pictures below
    screenshot(page, artifacts_dir / "spotdis_page.png")

    # the colour toggle redraws the map by the true patterns
    page.get_by_role("button", name="ground truth", exact=True).click()
    page.wait_for_timeout(1500)
    screenshot(page, artifacts_dir / "spotdis_page_truth.png")

    # where the analysis has them: the rate-vector baseline and the window sweep
    baseline = page.get_by_role("button", name="Compare with rate baseline")
    if baseline.count():
        baseline.click()
        page.get_by_text(re.compile(r"Rate vectors \(no timing\)")).first.wait_for(
            timeout=120_000)
    sweep = page.get_by_role("button", name="Sweep window length")
    if sweep.count():
        sweep.click()
        page.get_by_text("Window sweep", exact=True).first.wait_for(timeout=180_000)
        page.locator(".tabulator-row").first.wait_for(timeout=30_000)
        screenshot(page, artifacts_dir / "spotdis_page_sweep.png", height=2000)
    assert not page.js_errors, page.js_errors


def test_data_without_epochs_offers_events(served_app, page, artifacts_dir):
    """The synfire demo has no epochs: the page switches to events + window and says so."""
    open_app(page, served_app)
    page.get_by_role("button", name="SPOTDis", exact=True).click()
    page.get_by_text(re.compile(r"no epochs.*cuts them around events")).first.wait_for(
        timeout=30_000)
    events = page.locator(".bk-input-group", has_text="Event times (s)").locator("input")
    events.first.wait_for(timeout=10_000)
    run = page.get_by_role("button", name="Run", exact=True)
    assert run.is_enabled()
    # no events given yet: a one-line error naming the field, no run
    run.click()
    page.get_by_text(re.compile(r"Event times \(s\): give the event times")).first.wait_for(
        timeout=30_000)
    screenshot(page, artifacts_dir / "spotdis_page_no_epochs.png", height=900)
    # or one click to the demo with epochs: the page takes the recording's epochs
    page.get_by_role("button", name=re.compile("Load the demo with epochs")).click()
    # (the demo button's own label names "300 epochs, 50 units": wait for the page itself)
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="recording's epochs", exact=True)).to_be_enabled(
        timeout=60_000)
    assert not page.js_errors, page.js_errors


def test_events_and_window_on_the_pulse_demo(served_app, page, artifacts_dir):
    """Choose events + window on data with epochs, run, and see the matrix and the map."""
    open_spotdis_page(page, served_app)
    page.get_by_text(re.compile(r"300 epochs, 50 units")).first.wait_for(timeout=10_000)
    page.get_by_role("button", name="events + window", exact=True).click()
    events = page.locator(".bk-input-group", has_text="Event times (s)").locator("input")
    events.first.wait_for(timeout=10_000)
    set_number(page, "Event times (s)", "0:45:0.3")
    set_number(page, "Window start (ms)", 0)
    set_number(page, "Window length (ms)", 300)
    page.get_by_role("button", name="Run", exact=True).click()
    summary = page.get_by_text(re.compile(r"clusters.*150 windows \[\+0, \+300\] ms around "
                                          r"events")).first
    summary.wait_for(timeout=120_000)
    assert "n/a (no true labels)" in summary.inner_text()
    # matrix, map, epoch raster and cross-correlation: four canvases
    page.locator(".bk-Canvas:visible").nth(3).wait_for(timeout=60_000)
    # the truth colouring belongs to the recording's epochs: not offered here
    assert page.get_by_role("button", name="ground truth", exact=True).is_disabled()
    screenshot(page, artifacts_dir / "spotdis_page_events.png")
    assert not page.js_errors, page.js_errors


# the highlight overlays' data, read from the page's Bokeh documents. rings: the epochs whose
# map dots a ring source (x and y only) sits on; bands: the matrix's quads that span its
# whole width or height (the cluster frames never do), as [left, bottom, right, top]
HIGHLIGHT_JS = """() => {
  const cols = (m) => m.data instanceof Map ? Object.fromEntries(m.data) : m.data;
  const sources = [];
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models)
      if (m.type === 'ColumnDataSource') sources.push(cols(m));
  const map = sources.find((d) => 'group' in d && 'epoch' in d && 'x' in d);
  if (!map) return {rings: null, bands: null};
  const at = new Map();
  for (let i = 0; i < map.x.length; i++) at.set(map.x[i] + ',' + map.y[i], map.epoch[i]);
  let rings = null;
  const bands = [];
  for (const d of sources) {
    const keys = Object.keys(d).sort().join(',');
    if (keys === 'x,y' && d.x.length && Array.from(d.x).every((x, i) => at.has(x + ',' + d.y[i])))
      rings = Array.from(d.x, (x, i) => at.get(x + ',' + d.y[i])).sort((a, b) => a - b);
    if (keys === 'bottom,left,right,top')
      for (let i = 0; i < d.left.length; i++)
        if (d.right[i] - d.left[i] === map.x.length || d.top[i] - d.bottom[i] === map.x.length)
          bands.push([d.left[i], d.bottom[i], d.right[i], d.top[i]]);
  }
  return {rings: rings, bands: bands};
}"""


def cell(row, field):
    """The text of a Tabulator row's cell of column ``field``."""
    return row.locator(f".tabulator-cell[tabulator-field='{field}']").inner_text().strip()


def test_table_row_highlights_the_epoch(served_app, page, artifacts_dir):
    """Linked views (issue 15): a click on an epoch's row rings it on the map, marks its row
    and column on the matrix and draws its spikes; a click on a cluster's row highlights all
    its epochs. Kept small: 40 windows cut from the pulse demo."""
    open_spotdis_page(page, served_app)
    page.get_by_text(re.compile(r"300 epochs, 50 units")).first.wait_for(timeout=10_000)
    page.get_by_role("button", name="events + window", exact=True).click()
    page.locator(".bk-input-group", has_text="Event times (s)").locator("input").first \
        .wait_for(timeout=10_000)
    set_number(page, "Event times (s)", "0:12:0.3")
    set_number(page, "Min cluster size", 4)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(r"clusters.*40 windows")).first.wait_for(timeout=120_000)
    tables = page.locator(".tabulator:visible")
    tables.nth(1).locator(".tabulator-row").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)

    # epoch 3 of the epochs' table (row k is epoch k; the first page shows 0..9)
    row = tables.nth(1).locator(".tabulator-row").nth(3)
    assert cell(row, "epoch") == "3"
    row.click()
    page.wait_for_function(f"({HIGHLIGHT_JS})().rings?.join(',') === '3'", timeout=30_000)
    # one row band and one column band, one epoch wide, at the same rank
    page.wait_for_function(f"({HIGHLIGHT_JS})().bands.length === 2", timeout=30_000)
    bands = page.evaluate(HIGHLIGHT_JS)["bands"]
    (row_band,) = [b for b in bands if b[2] - b[0] == 40]
    (column_band,) = [b for b in bands if b[3] - b[1] == 40]
    assert row_band[3] - row_band[1] == 1 and column_band[2] - column_band[0] == 1, bands
    assert row_band[1] == column_band[0], bands
    assert "tabulator-selected" in row.get_attribute("class")
    screenshot(page, artifacts_dir / "spotdis_linked_epoch.png", height=1950)

    # a cluster's row (the last: not epoch 3's cluster if that is the noise): all its
    # epochs ringed, their rows selected in the epochs' table
    clusters = tables.nth(0).locator(".tabulator-row")
    last = clusters.nth(clusters.count() - 1)
    label, n = cell(last, "cluster"), int(cell(last, "epochs"))
    assert n > 1
    last.click()
    page.wait_for_function(f"({HIGHLIGHT_JS})().rings?.length === {n}", timeout=30_000)
    # on the epochs' table's first page: the selected rows are those of the cluster
    rows = tables.nth(1).locator(".tabulator-row")

    def selected_and_members():
        picked, members = [], []
        for i in range(rows.count()):
            epoch = int(cell(rows.nth(i), "epoch"))
            if "tabulator-selected" in rows.nth(i).get_attribute("class"):
                picked.append(epoch)
            if cell(rows.nth(i), "cluster") == label:
                members.append(epoch)
        return picked, members

    for _ in range(40):   # the table's selection arrives in its own message
        picked, members = selected_and_members()
        if picked == members:
            break
        page.wait_for_timeout(500)
    assert picked == members and members, (picked, members)
    page.wait_for_timeout(1000)
    screenshot(page, artifacts_dir / "spotdis_linked_cluster.png", height=1950)
    assert not page.js_errors, page.js_errors
