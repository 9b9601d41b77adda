"""Logs as JSON lines with the request id; an access line per request naming the route's template only."""

from __future__ import annotations

import io
import json
import logging
from contextlib import contextmanager

from ansinh.ops.logging import JsonFormatter, RequestIdFilter, TextFormatter, logging_config


@contextmanager
def captured(formatter: logging.Formatter, *names: str):
    """The lines the loggers ``names`` write, formatted by ``formatter``, as the server's handler would."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    loggers = [logging.getLogger(name) for name in names]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        for logger, (level, _) in zip(loggers, saved):
            logger.removeHandler(handler)
            logger.setLevel(level)


def test_each_request_writes_one_json_access_line_without_the_address_asked_for(client):
    with captured(JsonFormatter(), "ansinh.access") as stream:
        response = client.get("/api/v1/people/42?citizen_id=001090000001", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 401
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 1
    line = lines[0]
    assert set(line) == {"time", "level", "logger", "message", "process", "request_id", "method", "route",
                         "status", "duration_ms"}
    assert (line["level"], line["logger"], line["request_id"]) == ("info", "ansinh.access", "req-123")
    assert (line["method"], line["route"], line["status"]) == ("GET", "/api/v1/people/{person_id}", 401)
    assert line["duration_ms"] >= 0 and line["time"].endswith("+00:00")
    assert "001090000001" not in stream.getvalue() and "/people/42" not in stream.getvalue()


def test_lines_written_while_serving_a_request_carry_its_id(client):
    """The id is a context variable (set by the request middleware, copied to the request's threads): any line
    written while it is set carries it, with the fields the line gives (``extra=``)."""
    from ansinh.ops.logging import request_id_var

    with captured(JsonFormatter(), "ansinh.ops.test") as stream:
        token = request_id_var.set("abc")
        try:
            logging.getLogger("ansinh.ops.test").warning("a %s", "warning", extra={"job": "billing"})
        finally:
            request_id_var.reset(token)
        logging.getLogger("ansinh.ops.test").info("outside a request")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "a warning" and first["request_id"] == "abc" and first["job"] == "billing"
    assert first["level"] == "warning" and "request_id" not in second


def test_exceptions_are_one_line_of_json():
    with captured(JsonFormatter(), "ansinh.ops.test") as stream:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("ansinh.ops.test").exception("failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "ValueError: boom" in json.loads(lines[0])["exception"]


def test_text_lines_name_the_request_id(client):
    with captured(TextFormatter(), "ansinh.access") as stream:
        client.get("/health", headers={"X-Request-ID": "req-9"})
    line = stream.getvalue().strip()
    assert " INFO ansinh.access GET /health 200 " in line and line.endswith("[req-9]")


def test_the_server_logging_configuration_is_valid():
    import logging.config

    for log_format in ("text", "json"):
        config = logging_config(log_format, "warning")
        # validated without touching this process's loggers: every factory and class named resolves
        configurator = logging.config.DictConfigurator(config)
        assert configurator.resolve(config["formatters"]["default"]["()"])
        assert config["root"]["level"] == "WARNING"
