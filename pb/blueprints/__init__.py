"""Thin views per actor, registered on the app."""

from flask import Flask


def init_app(app: Flask) -> None:
    from pb.blueprints import (
        admin,
        api,
        auth,
        comments,
        dashboard,
        identity,
        implementation,
        language,
        media,
        moderation,
        notifications,
        paper,
        places,
        privacy,
        profile,
        proposals,
        public,
        publication,
        results,
        supports,
        verification,
        verification_requests,
        voting,
    )
    from pb.blueprints import ballot_settings  # ballot designs (issue 20)

    for module in (public, auth, proposals, moderation, voting, verification, paper, results, admin, publication, api,
                   dashboard, implementation, language, notifications, profile, privacy, media, places, comments,
                   supports, verification_requests, identity):
        app.register_blueprint(module.bp)
    app.register_blueprint(ballot_settings.bp)  # ballot designs (issue 20)
