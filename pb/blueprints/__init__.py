"""Thin views per actor, registered on the app."""

from flask import Flask


def init_app(app: Flask) -> None:
    from pb.blueprints import admin, auth, moderation, proposals, public, results, voting

    for module in (public, auth, proposals, moderation, voting, results, admin):
        app.register_blueprint(module.bp)
