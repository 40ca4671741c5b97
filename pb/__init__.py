"""The pb application factory: config, extensions, blueprints, CLI and error handlers, in that order."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build a configured pb app; does no database work.

    Flask is imported here, not at the top: every `pb.*` import runs this module first, and the domain and
    `pb-tally` must start without the web stack (Flask alone takes about a tenth of a second to import).
    """
    from flask import Flask

    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)

    from pb import blueprints, cli, config, database, errors, i18n, mail, security, storage, templating

    config.load(app, test_config)
    database.init_app(app)
    mail.init_app(app)
    storage.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    blueprints.init_app(app)
    cli.init_app(app)
    errors.init_app(app)
    return app
