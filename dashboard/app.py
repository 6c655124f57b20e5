"""The multi-page spikelens app: a template with navigation, one Session per browser session."""

from __future__ import annotations

import json
import logging

import holoviews as hv
import panel as pn

from analysis import methods

from .data_page import DataPage
from .history import PageHistory, initial_page
from .state import Session
from .text import Markdown, escape_html, escape_markdown

pn.extension("filedropper", "tabulator", notifications=True, sizing_mode="stretch_width")
hv.extension("bokeh", logo=False)

DATA_PAGE = "Data"


def page_names():
    """The navigation: the Data page, then one page per registered method."""
    return [DATA_PAGE] + [m.page_title for m in methods.methods() if m.page is not None]


def _make_page(name, session):
    if name == DATA_PAGE:
        return DataPage(session=session)
    method = next(m for m in methods.methods() if m.page_title == name)
    return method.load("page")(session=session)


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
    if load_demo and session.data is None:
        session.source = f"demo '{demo.DEFAULT}'"
        session.data = demo.load_demo(demo.DEFAULT)
    pages = {}
    names = page_names()
    nav = pn.widgets.RadioButtonGroup(options=names, value=initial_page(names, DATA_PAGE),
                                      orientation="vertical", color="primary",
                                      variant="outline", sizing_mode="stretch_width")
    # one holder per page, filled the first time the page is opened; afterwards a page is
    # only shown or hidden, in the browser at once (the server follows), so coming back to
    # it draws nothing anew and computes nothing
    holders = {n: pn.Column(sizing_mode="stretch_width", visible=False) for n in names}
    main = pn.Column(*holders.values(), sizing_mode="stretch_both")
    nav.jscallback(value=f"""
        const name = cb_obj.labels[cb_obj.active]
        const holders = [{", ".join(f"h{i}" for i in range(len(names)))}]
        const labels = {json.dumps(names)}
        labels.forEach((label, i) => {{ holders[i].visible = label === name }})""",
                   args={f"h{i}": holders[n] for i, n in enumerate(names)})
    history = PageHistory(page=nav.value, width=0, height=0, margin=0)

    def show(name):
        if name not in pages:
            pages[name] = _make_page(name, session)
            holders[name][:] = [pages[name]]
        for other, holder in holders.items():
            holder.visible = other == name
        history.page = name

    nav.param.watch(lambda e: show(e.new), "value")
    history.param.watch(lambda e: setattr(nav, "value", e.new) if e.new in names else None,
                        "page")
    show(nav.value)
    status = pn.bind(lambda data, source: Markdown(
        f"**Loaded:** {escape_markdown(source)}  \n{data.n_units} units, {data.n_spikes:,} spikes, "
        f"{data.duration:g} s" if data is not None else "**No data loaded**"),
        session.param.data, session.param.source)
    # BootstrapTemplate pulls no web fonts (FastListTemplate fetches one from Google): a lab
    # server may have no internet, and pages must not wait on it
    export = export_button(session, pages)
    template = pn.template.BootstrapTemplate(
        title="spikelens", sidebar=[nav, pn.layout.Divider(), status, export], main=[main],
        header=[activity_indicator(session), history], sidebar_width=250,
        header_background="#1f4e79")
    template.session = session  # handy in notebooks and tests
    template.pages = pages  # name -> page, for the pages opened so far
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
                 warm_kernels=False, **kwargs):
    """The app's server, not yet started; each browser session gets its own
    ``create_app()``.

    Binds to ``address`` (localhost unless told otherwise). ``max_upload_mb`` limits uploads;
    ``data_dir`` is the one server folder whose spike files sessions may open; ``workers``
    sizes the shared worker pools (``{"load": n, "analysis": m}``, see
    ``dashboard.workers``); a run longer than ``max_run_minutes`` is stopped. Requests
    must name this server in their Host header: an IP address, ``localhost``, this
    machine's host names, or one of ``allow_hosts`` (``"*"`` allows any name); any other
    host gets 403, which stops DNS-rebinding pages. ``warm_kernels``: once the server is
    built, load or compile the numba kernels of the methods in a background thread
    (``dashboard.warmup``; a few CPU seconds), so that a visitor's first run neither waits
    for them nor ignores Cancel meanwhile; ``serve`` turns it on, tests that build a server
    in their own process leave it off.
    """
    import os

    from . import workers as _workers
    from .state import CONFIG

    if data_dir is not None and not os.path.isdir(data_dir):
        raise ValueError(f"data_dir: {data_dir} is not a folder")
    CONFIG.param.update(max_upload_mb=int(max_upload_mb), max_run_minutes=max_run_minutes,
                        data_dir=None if data_dir is None else os.path.realpath(data_dir))
    _workers.configure(workers, time_limit=60.0 * CONFIG.max_run_minutes)
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
