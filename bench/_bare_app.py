"""The baseline for bench/load.py: a bare Flask endpoint, served by gunicorn with pb's own configuration."""

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping():
    """Answer with a tiny page and touch nothing else."""
    return "ok"
