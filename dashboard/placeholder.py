"""Pages whose analysis has not landed yet: they say so and show what is loaded."""

import panel as pn
import param
from panel.viewable import Viewer

from .state import Session
from .text import Alert, Markdown


class PlannedPage(Viewer):
    """A page that names the method it will hold and the issue that brings it."""

    session = param.ClassSelector(class_=Session)
    title = param.String()
    description = param.String()

    def __panel__(self):
        return pn.Column(
            f"## {self.title}",
            Alert(self.description, alert_type="info"),
            pn.bind(lambda data: Markdown(
                f"Loaded: `{data!r}`" if data is not None else "No data loaded yet: "
                "pick one on the **Data** page."), self.session.param.data),
            sizing_mode="stretch_width",
        )
