"""The multi-page spikelens app: a template with navigation, one Session per browser session."""

from __future__ import annotations

import json
import logging
import os

import holoviews as hv
import panel as pn

from analysis import methods
from analysis.restrict import restriction_of

from .data_page import DataPage
from .history import PageHistory, flat_params, initial_page, query_params
from .work import COOKIE_PREFIX, WORK_SUFFIX, WorkTag
from .state import Session
from .text import Markdown, escape_html, escape_markdown

pn.extension("filedropper", "tabulator", notifications=True, sizing_mode="stretch_width")
hv.extension("bokeh", logo=False)

log = logging.getLogger(__name__)

DATA_PAGE = "Data"
#: Styles of a page's holder: shown, and hidden but kept laid out (out of sight, behind
#: the shown page, not clickable), so that showing it again needs no new layout
SHOWN = {"position": "relative", "visibility": "visible", "content-visibility": "visible",
         "pointer-events": "auto", "z-index": "1"}
HIDDEN = {"position": "absolute", "visibility": "hidden", "content-visibility": "hidden",
          "pointer-events": "none", "z-index": "0", "left": "0", "right": "0", "top": "0"}


def page_names():
    """The navigation: the Data page, then one page per registered method."""
    return [DATA_PAGE] + [m.page_title for m in methods.methods() if m.page is not None]


def _make_page(name, session):
    if name == DATA_PAGE:
        return DataPage(session=session)
    method = next(m for m in methods.methods() if m.page_title == name)
    return method.load("page")(session=session)


def _session_work(doc):
    """This browser session's kept work: ``(work, secret to give the browser, kept)``.

    ``kept`` (what ``Work.load`` returns, results keyed by page title) when the URL's
    ``work`` token and the browser's cookie open a kept work; else a new work with its
    secret. ``(None, None, None)`` outside a server or when the server keeps nothing.
    """
    from .state import CONFIG

    store = CONFIG.work
    if store is None or doc is None or doc.session_context is None:
        return None, None, None
    args = getattr(pn.state, "session_args", None) or {}
    raw = (args.get("work") or [b""])[0]
    token = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
    cookies = getattr(pn.state, "cookies", None) or {}
    work = store.open(token, cookies.get(COOKIE_PREFIX + token, ""))
    kept = None
    if work is not None:
        try:
            kept = work.load()
        except Exception:  # unreadable kept work: start afresh
            log.exception("kept work %s not restored", token)
            work = None
    if kept is not None:
        titles = {m.key: m.page_title for m in methods.methods()}
        kept["results"] = {titles[k]: r for k, r in kept["results"].items() if k in titles}
        return work, None, kept
    work, secret = store.new()
    return work, secret, None


def _server_work_file(session):
    """Load the server's ``--open`` work file into ``session``; returns its results (or
    None). An unreadable file is logged and the session starts as usual."""
    from .state import CONFIG
    from .work import read_work_file

    path = CONFIG.open_work
    if not path or session.data is not None:
        return None
    try:
        with open(path, "rb") as fh:
            work = read_work_file(fh.read(), os.path.basename(path), 2**62,
                                  [m.key for m in methods.methods()])
    except Exception:  # noqa: BLE001 (the server's own file: log it, start as usual)
        log.exception("--open %s not opened", path)
        return None
    if work["data"] is None:
        return None
    session.load(work["data"], work["source"])
    return work["results"]


def _keep_results(work, name, page, kept):
    """Show the kept result of page ``name`` and keep its new results."""
    if work is None or name == DATA_PAGE:
        return
    key = next(m.key for m in methods.methods() if m.page_title == name)
    if kept is not None and name in kept["results"]:
        try:
            page.restore(kept["results"].pop(name))
        except Exception:  # a kept result that no longer fits: the page starts empty
            log.exception("kept result of %s not restored", name)
    page.param.watch(lambda e: work.save_result(key, e.new), "result")
    getattr(page, "keep_work", lambda w, k: None)(work, kept)  # a page's further results


def _start_params(kept):
    """The analysis pages' settings to start with, ``{method key: {parameter: text}}``: the
    URL's (``?asset.bin_size=0.005``), else those kept with the session's work. Read as
    text here; each page checks them when it is built (``AnalysisPage.apply_url_values``)."""
    keys = [m.key for m in methods.methods() if m.page is not None]
    args = getattr(pn.state, "session_args", None) or {}
    from_url = query_params(args, keys)
    if from_url:
        return from_url
    kept_params = (kept or {}).get("params") or {}
    return {k: dict(v) for k, v in kept_params.items() if k in keys and isinstance(v, dict)}


def create_app(session=None, load_demo=True):
    """Build the app for one browser session (called once per session by the server).

    Parameters
    ----------
    session : Session, optional
        State to show (a notebook may pass its own); a new one by default.
    load_demo : bool
        Start with the default demo data set loaded, so a newcomer sees real results.
    """
    from analysis import demo

    session = session or Session()
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        # a closed tab: its queued work never starts, its running work stops
        doc.on_session_destroyed(lambda context: session.jobs.end())
    work, secret, kept = _session_work(doc)
    if kept is not None and kept["data"] is not None and session.data is None:
        work.restore_data(session, kept)  # the whole recording too, when it was restricted
    if kept is not None:  # runs are numbered on from where the session was
        runs = dict(session.runs)
        for key, n in kept.get("runs", {}).items():
            runs[key] = max(n, runs.get(key, 0))
        session.runs = runs
    if work is not None:
        session.param.watch(lambda e: work.save_runs(e.new), "runs")
    opened = _server_work_file(session) if kept is None else None
    if load_demo and session.data is None:
        session.load(demo.load_demo(demo.DEFAULT), f"demo '{demo.DEFAULT}'")
    pages = {}
    names = page_names()
    first = initial_page(names, kept["page"] if kept and kept["page"] in names else DATA_PAGE)
    nav = pn.widgets.RadioButtonGroup(options=names, value=first,
                                      orientation="vertical", color="primary",
                                      variant="outline", sizing_mode="stretch_width")
    # one holder per page, filled the first time the page is opened; afterwards a page is
    # only shown or hidden, in the browser at once (the server follows), so coming back to
    # it computes nothing. Hidden is "laid out, out of sight" (HIDDEN), not Bokeh's
    # visible=False: that drops the page's layout, and showing it again re-laid out and
    # redrew every plot (about 1 s for the ASSET page with results)
    holders = {n: pn.Column(sizing_mode="stretch_width", styles=dict(HIDDEN)) for n in names}
    main = pn.Column(*holders.values(), sizing_mode="stretch_both",
                     styles={"position": "relative"})
    nav.jscallback(value=f"""
        const name = cb_obj.labels[cb_obj.active]
        const holders = [{", ".join(f"h{i}" for i in range(len(names)))}]
        const labels = {json.dumps(names)}
        labels.forEach((label, i) => {{
            holders[i].styles = label === name ? {json.dumps(SHOWN)} : {json.dumps(HIDDEN)}
        }})""", args={f"h{i}": holders[n] for i, n in enumerate(names)})
    # each analysis page's settings as URL text, {method key: {parameter: text}}: the
    # pages not built yet keep the URL's until they are
    settings = _start_params(kept)
    keys = {m.page_title: m.key for m in methods.methods() if m.page is not None}
    history = PageHistory(page=nav.value, params=flat_params(settings),
                          prefixes=sorted(keys.values()), width=0, height=0, margin=0)

    def keep_settings(key, values):
        settings[key] = values
        history.params = flat_params(settings)
        if work is not None:
            work.save_params({k: v for k, v in settings.items() if v})

    def bind_settings(name, page):
        """A page was built: it takes its settings (after a kept result set its own), and
        the URL follows its changes."""
        if name not in keys or not hasattr(page, "apply_url_values"):
            return
        page.apply_url_values(settings.get(keys[name], {}))
        keep_settings(keys[name], page.url_values())
        page.watch_url_values(lambda values: keep_settings(keys[name], values))

    def show(name):
        if name not in pages:
            pages[name] = page = _make_page(name, session)
            holders[name][:] = [page]
            _keep_results(work, name, page, kept)
            bind_settings(name, page)
        if work is not None:
            work.save_page(name)
        for other, holder in holders.items():
            holder.styles = dict(SHOWN if other == name else HIDDEN)
        history.page = name

    nav.param.watch(lambda e: show(e.new), "value")
    # a hand-over (e.g. "Analyse these units in ASSET") asks for a page
    session.param.watch(lambda e: setattr(nav, "value", e.new) if e.new in names else None,
                        "page")
    history.param.watch(lambda e: setattr(nav, "value", e.new) if e.new in names else None,
                        "page")
    if kept is not None:  # pages with kept results show them at once, without computing
        for name in list(kept["results"]):
            if name in names and name not in pages:
                pages[name] = page = _make_page(name, session)
                holders[name][:] = [page]
                _keep_results(work, name, page, kept)
                bind_settings(name, page)
    show(nav.value)
    lost = None
    if kept is not None and kept["data"] is None and kept["source"]:
        lost = f"{kept['source']} was too large to keep for a reload: load it again."
    elif kept is not None and kept.get("whole_dropped"):
        lost = (f"The whole recording of {kept['source']} was too large to keep beside its "
                f"restriction: load it again to go back to it.")
    def data_page():
        if DATA_PAGE not in pages:
            pages[DATA_PAGE] = _make_page(DATA_PAGE, session)
            holders[DATA_PAGE][:] = [pages[DATA_PAGE]]
        return pages[DATA_PAGE]

    if lost:
        data_page()._show_message(lost, "warning")

    def show_opened(event):
        """A work file was opened (Data page): its results on their pages, no computing."""
        if not event.new:
            return
        from .work import show_results

        titles = {m.key: m.page_title for m in methods.methods()}

        def page_of(key):
            name = titles.get(key)
            if name not in names:
                return None
            if name not in pages:
                pages[name] = _make_page(name, session)
                holders[name][:] = [pages[name]]
                _keep_results(work, name, pages[name], None)
                bind_settings(name, pages[name])
            return pages[name]
        show_results(event.new, page_of)   # results, then what a page keeps beside them
        session.opened = None

    session.param.watch(show_opened, "opened")
    if opened:
        session.opened = opened
    if work is not None:
        def keep_data(event=None):
            work.save_data(session.data, session.source, session.whole, session.whole_source)

        session.param.watch(keep_data, "data")
        if kept is None or kept["data"] is None:
            keep_data()
    status = pn.bind(lambda data, source: Markdown(
        f"**Loaded:** {escape_markdown(source)}  \n{data.n_units} units, {data.n_spikes:,} spikes, "
        f"{data.duration:g} s" + (f"  \n**Restricted:** {escape_markdown(restriction_of(data))}"
                                  if restriction_of(data) else "")
        if data is not None else "**No data loaded**"),
        session.param.data, session.param.source)
    # BootstrapTemplate pulls no web fonts (FastListTemplate fetches one from Google): a lab
    # server may have no internet, and pages must not wait on it
    export = export_button(session, pages)
    save = save_work_button(session, pages)
    opener = open_dropper(session, data_page,
                          lambda name: setattr(nav, "value", name) if name in names else None)
    template = pn.template.BootstrapTemplate(
        title="spikelens", sidebar=[nav, pn.layout.Divider(), status, export, save, opener],
        main=[main],
        header=[activity_indicator(session), history,
                WorkTag(token=work.token if work else "", secret=secret or "", width=0,
                        height=0, margin=0)], sidebar_width=250,
        header_background="#1f4e79")
    template.session = session  # handy in notebooks and tests
    template.pages = pages  # name -> page, for the pages opened so far
    template.opener = opener  # the sidebar's drop area for work and result files
    template.nav = nav  # the page shown
    return template


def activity_indicator(session):
    """The header's spinner and the name of the long step that runs (any page's)."""
    text = pn.bind(lambda busy, what: f"running: {escape_html(what)}" if busy and what
                   else "", session.param.busy, session.param.activity)
    return pn.Row(
        pn.indicators.LoadingSpinner(value=session.param.busy, size=22, color="light",
                                     bgcolor="dark", margin=(12, 6)),
        pn.pane.HTML(text, styles={"color": "white", "font-size": "0.95em"},
                     margin=(14, 4)),
        align="center")


def open_dropper(session, data_page, go_to):
    """The sidebar's drop area, on every page (issue 15, item 1): a work file or a saved
    result ``.npz`` dropped there opens as it does on the Data page (``DataPage._on_upload``:
    the same size limits and checks; results shown without computing, a result only on the
    recording it was computed on). A result's page is shown; the outcome is one line in a
    notification and in the Data page's alert."""
    from .data_page import STALLED_UPLOAD_CHECK_MS
    from .state import CONFIG
    from .upload import BoundedFileDropper

    limit = CONFIG.max_upload_mb
    dropper = BoundedFileDropper(
        multiple=False, max_file_size=f"{limit}MB", max_bytes=int(limit * 1e6),
        chunk_size=10_000_000, sizing_mode="stretch_width")   # no accepted_filetypes: the
    # browser checks those as MIME types, which .npz and work files lack; names are checked
    # here

    def notify(kind, text):
        if pn.state.notifications is not None:
            getattr(pn.state.notifications, kind)(escape_html(text), duration=8000)

    async def on_file(event):
        if not event.new:
            return
        name = os.path.basename(next(iter(event.new)))
        if not name.lower().endswith((".npz", WORK_SUFFIX)):
            notify("error", f"{name}: drop a work file ({WORK_SUFFIX}) or a saved result "
                            f"(.npz) here; recordings are loaded on the Data page")
            return
        page = data_page()
        session.message = ""
        where = await page._on_upload(event)
        if page.state == "failed":
            notify("error", session.message or f"{name}: not opened")
            return
        if where:
            go_to(where)
        if session.message:
            notify("success", session.message)

    def on_refused(event):
        if event.new:
            notify("error", f"Open: {event.new}")

    dropper.param.watch(on_file, "value")
    dropper.param.watch(on_refused, "refused")
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        pn.state.add_periodic_callback(dropper.expire, period=STALLED_UPLOAD_CHECK_MS)
    box = pn.Column(Markdown(f"**Open** work ({WORK_SUFFIX}) or a saved result (.npz):"),
                    dropper, sizing_mode="stretch_width", margin=(10, 0, 0, 0))
    box.open_file = on_file   # what a drop calls (notebooks, tests)
    return box


def save_work_button(session, pages):
    """"Save work": one file with the session's recording and every page's last result,
    which **Open work** (an upload on the Data page) reopens without computing."""
    def work_file():
        from io import BytesIO

        from .work import write_work_file

        keys = {m.page_title: m.key for m in methods.methods()}
        results = {keys[name]: page.result for name, page in pages.items()
                   if name in keys and getattr(page, "result", None) is not None}
        for name, page in pages.items():   # a page's results beside its own (EXTRA_RESULTS)
            if name in keys:
                results.update(getattr(page, "work_results", dict)())
        return BytesIO(write_work_file(session.data, session.source, results))

    return pn.widgets.FileDownload(
        callback=work_file, filename="work" + WORK_SUFFIX, label="Save work",
        color="primary", variant="outline", sizing_mode="stretch_width",
        description="One file with the recording and every analysis result of this "
                    "session; drop it on the Data page (here or on another spikelens) to "
                    "open it again without computing.")


def export_button(session, pages):
    """"Export report": one self-contained HTML file with the session's data and the
    analyses that have results (the pages opened so far), as ``spikelens report`` writes."""
    def html_file():
        from io import BytesIO

        from .report import report_from_pages

        try:
            text = report_from_pages(session, pages)
        except Exception as exc:  # one line in the page, never a half report
            session.message = f"Export report: {' '.join(str(exc).split())}"
            if pn.state.notifications is not None:
                pn.state.notifications.error(escape_html(session.message), duration=8000)
            raise
        return BytesIO(text.encode("utf-8"))

    return pn.widgets.FileDownload(
        callback=html_file, filename="spikelens-report.html", label="Export report",
        color="primary", variant="outline", sizing_mode="stretch_width",
        description="One HTML file that opens offline: the data summary and raster, and "
                    "the results and parameters of every analysis run in this session.")


#: Host names a served app answers to besides IP addresses and the machine's own names.
LOCAL_HOSTS = ("localhost", "localhost.localdomain")
#: A closed tab's session is dropped (and its work stopped) this long after its last
#: connection closed; the check runs every ``_CHECK_UNUSED_MS``. Long enough for a slow page
#: to open its websocket after loading.
UNUSED_SESSION_MS = 8000
_CHECK_UNUSED_MS = 1000


def serve(port=5006, address="localhost", warm_kernels=True, **kwargs):
    """Serve the app until interrupted; see :func:`build_server` for the arguments (here
    ``warm_kernels`` is on unless turned off). The dashboard's log messages (the warm-up's
    time, errors of runs) go to stderr."""
    _log_to_stderr()
    server = build_server(port=port, address=address, warm_kernels=warm_kernels, **kwargs)
    print(f"spikelens dashboard on http://{address}:{port}", flush=True)
    server.start()
    server.io_loop.start()
    return server


def _log_to_stderr():
    """Show the ``dashboard`` loggers' messages from INFO up on stderr (once)."""
    logger = logging.getLogger("dashboard")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def build_server(port=5006, address="localhost", show=False, num_threads=2, max_upload_mb=1000,
                 data_dir=None, workers=None, allow_hosts=(), max_run_minutes=60,
                 work_dir=None, keep_work_days=7.0, open_work=None, warm_kernels=False,
                 **kwargs):
    """The app's server, not yet started; each browser session gets its own
    ``create_app()``.

    Binds to ``address`` (localhost unless told otherwise). ``max_upload_mb`` limits uploads;
    ``data_dir`` is the one server folder whose spike files sessions may open; ``workers``
    sizes the shared worker pools (``{"load": n, "analysis": m}``, see
    ``dashboard.workers``); a run longer than ``max_run_minutes`` is stopped. Requests
    must name this server in their Host header: an IP address, ``localhost``, this
    machine's host names, or one of ``allow_hosts`` (``"*"`` allows any name); any other
    host gets 403, which stops DNS-rebinding pages. Each session's work (its recording,
    page and results) is kept in ``work_dir`` (default: a folder in the system's temporary
    directory) for ``keep_work_days`` so that a reload restores it (``dashboard.work``);
    ``keep_work_days=0`` keeps nothing. ``open_work``: a work file (``.spikelens``, from
    **Save work**) that every new session opens, its results shown without computing.
    ``warm_kernels``: once the server is built, load or compile the numba kernels of the
    methods in a background thread (``dashboard.warmup``; a few CPU seconds), so that a
    visitor's first run neither waits for them nor ignores Cancel meanwhile; ``serve``
    turns it on, tests that build a server in their own process leave it off.
    """
    import os

    from .work import WorkStore

    from . import workers as _workers
    from .state import CONFIG

    if data_dir is not None and not os.path.isdir(data_dir):
        raise ValueError(f"data_dir: {data_dir} is not a folder")
    CONFIG.param.update(max_upload_mb=int(max_upload_mb), max_run_minutes=max_run_minutes,
                        data_dir=None if data_dir is None else os.path.realpath(data_dir))
    _workers.configure(workers, time_limit=60.0 * CONFIG.max_run_minutes)
    if open_work is not None:
        if not os.path.isfile(open_work):
            raise ValueError(f"open_work: {open_work} is not a file")
        open_work = os.path.realpath(open_work)
    CONFIG.open_work = open_work
    if keep_work_days < 0:
        raise ValueError(f"keep_work_days: must be >= 0, got {keep_work_days}")
    CONFIG.work = WorkStore(work_dir, max_age_days=keep_work_days) if keep_work_days else None
    allowed = allowed_hosts(address, allow_hosts)
    origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    origins += [f"{h}:{port}" for h in allowed if h != "*"]
    server = pn.serve(create_app, port=port, address=address, show=show,
                      num_threads=num_threads, websocket_origin=sorted(set(origins)),
                      title="spikelens", start=False,
                      check_unused_sessions_milliseconds=_CHECK_UNUSED_MS,
                      unused_session_lifetime_milliseconds=UNUSED_SESSION_MS,
                      # one upload chunk (10 MB) and its framing; nothing larger is read
                      websocket_max_message_size=16 * 1024 * 1024, **kwargs)
    guard_hosts(server._tornado, allowed)
    if warm_kernels:
        from . import warmup

        warmup.start()
    return server


def allowed_hosts(address, extra=()):
    """Host names the server answers to (IP addresses are always allowed)."""
    import socket

    names = set(LOCAL_HOSTS) | {socket.gethostname(), socket.getfqdn()}
    if address not in (None, "", "0.0.0.0", "::"):
        names.add(address)
    names |= set(extra)
    return {n.lower().rstrip(".") for n in names if n}


def host_allowed(host, allowed):
    """Whether a request's Host header (without the port) names this server."""
    import ipaddress

    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        ipaddress.ip_address(name)
        return True  # a DNS-rebinding page always sends its own domain name, never an IP
    except ValueError:
        pass
    return "*" in allowed or name in allowed


def guard_hosts(tornado_app, allowed):
    """Answer 403 to every request (page, websocket, static file) whose Host header is not
    in ``allowed``. Bokeh's websocket origin list alone does not stop DNS rebinding: Tornado
    skips it when the Origin equals the Host."""
    from tornado.web import ErrorHandler

    find = tornado_app.find_handler

    def find_handler(request, **kwargs):
        if not host_allowed(request.host_name, allowed):
            return tornado_app.get_handler_delegate(request, ErrorHandler,
                                                    {"status_code": 403})
        return find(request, **kwargs)

    tornado_app.find_handler = find_handler
