"""Thin views per actor, registered on the app."""

from flask import Flask


def init_app(app: Flask) -> None:
    from pb.blueprints import admin, auth, moderation, paper, proposals, public, results, verification, voting

    for module in (public, auth, proposals, moderation, voting, verification, paper, results, admin):
        app.register_blueprint(module.bp)
