"""`panel serve apps/spikelens.py`: the multi-page spikelens dashboard.

Panel runs this file once per browser session, so each session has its own state.
"""

from dashboard.app import create_app

create_app().servable(title="spikelens")
