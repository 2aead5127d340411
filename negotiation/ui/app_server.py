"""The server of `bloc app`: the web app's page, and the solo page of workshop mode ("Take a
seat") with its seat page /join (the same pages as `bloc workshop`'s, on the app's server).
The one module that imports both front ends: neither imports the other's pages."""

from __future__ import annotations

import solara

from negotiation.ui import app, workshop_app

routes = [
    solara.Route(path="/", component=app.Page, label="Bloc", layout=app.Layout),
    solara.Route(path="solo", component=workshop_app.SoloPage, label="Take a seat"),
    solara.Route(path="join", component=workshop_app.JoinPage, label="Your seat"),
]
