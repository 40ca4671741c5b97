"""The worker: one round runs every job, a failing job does not stop the others, and the command runs rounds."""

from pb import worker
from pb.services import mail
from tests.conftest import text_of


def test_a_round_delivers_queued_mail(app, smtp):
    mail.queue_test_message("someone@example.org", "the tests")
    assert worker.run_round(app) == ["mail: 1 sent, 0 to retry, 0 failed"]
    assert "check that email works" in text_of(smtp.last_to("someone@example.org"))
    assert worker.run_round(app) == []


def test_a_failing_job_is_reported_and_the_other_jobs_still_run(app, smtp, monkeypatch):
    def broken(_now):
        raise RuntimeError("the timetable is unreadable")

    monkeypatch.setattr(worker, "JOBS", [("broken job", broken), *worker.JOBS])
    mail.queue_test_message("someone@example.org", "the tests")
    lines = worker.run_round(app)
    assert lines == ["broken job failed: RuntimeError: the timetable is unreadable", "mail: 1 sent, 0 to retry, 0 failed"]
    assert len(smtp.messages) == 1


def test_the_worker_command_runs_one_round_with_once(app, smtp, runner):
    mail.queue_test_message("someone@example.org", "the tests")
    result = runner.invoke(args=["pb", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "pb worker started: delivering mail to 127.0.0.1:" in result.output
    assert "mail: 1 sent" in result.output and "pb worker stopped." in result.output
    assert len(smtp.messages) == 1


def test_send_test_mail_queues_a_message_and_refuses_a_bad_address(app, runner):
    result = runner.invoke(args=["pb", "send-test-mail", "--to", "nobody"])
    assert result.exit_code != 0 and "Enter a valid email address." in result.output
    result = runner.invoke(args=["pb", "send-test-mail", "--to", "ops@example.org"])
    assert result.exit_code == 0 and "ops@example.org is in the outbox" in result.output
    assert mail.counts_by_status()["pending"] == 1


def test_the_development_server_with_its_worker_is_refused_in_production(app, runner):
    app.config["ENV"] = "production"
    result = runner.invoke(args=["pb", "serve"])
    assert result.exit_code != 0 and "gunicorn" in result.output
