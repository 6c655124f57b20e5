"""Per-browser-session state shared by all pages of the app."""

import param

from analysis.spiketrains import SpikeTrains


class Session(param.Parameterized):
    """What one browser session has loaded. Every page holds a reference to the same object.

    A new ``Session`` is made for each browser session (``create_app`` runs per session), so
    two users never see each other's data.
    """

    data = param.ClassSelector(class_=SpikeTrains, allow_None=True, doc="The loaded recording.")
    source = param.String(default="", doc="Where the data came from (demo, simulator, file).")
    busy = param.Boolean(default=False, doc="True while a long step runs.")
    message = param.String(default="", doc="The last error or status line shown to the user.")


class ServerConfig(param.Parameterized):
    """What the lab's server allows; set once by ``spikelens serve`` (``dashboard.app.serve``)."""

    max_upload_mb = param.Integer(default=1000, bounds=(1, None), doc="""
        Largest upload in MB (the browser refuses larger files; the server checks again).""")
    data_dir = param.String(default=None, allow_None=True, doc="""
        A folder whose spike files every session may open (the "Server files" source).
        No page reads any other server path.""")


#: The running server's settings (one per process).
CONFIG = ServerConfig()
