"""What the emulator's WSGI layers share: reading a request's body, answering in JSON, and the
test-only control API."""

import json


def read_body(environ):
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        # werkzeug marks a chunked body, whose length is unknown, as readable to its end
        return stream.read() if environ.get("wsgi.input_terminated") else b""
    chunks = []
    while length > 0 and (chunk := stream.read(length)):
        chunks.append(chunk)
        length -= len(chunk)
    return b"".join(chunks)


def json_answer(start_response, status, answer):
    data = json.dumps(answer).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class ControlError(Exception):
    """A control request that cannot be carried out: answered 400 with this message."""


class Control:
    """WSGI middleware: the test-only control API under /_emulator/, served before moto.

    moto routes by the Host header and the signing scope of the Authorization header; a path
    under /_emulator/ names no AWS service or moto API (moto's own is /moto-api/), so nothing
    moto serves is hidden. `routes` maps a path to a function of the request's JSON object that
    answers a JSON object (or raises ControlError).
    """

    PREFIX = "/_emulator/"

    def __init__(self, app, routes):
        self.app, self.routes = app, routes

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(self.PREFIX):
            return self.app(environ, start_response)
        handler = self.routes.get(path)
        if handler is None:
            return json_answer(start_response, "404 Not Found", {"message": f"no {path}"})
        if environ["REQUEST_METHOD"] != "POST":
            return json_answer(
                start_response, "405 Method Not Allowed", {"message": f"{path} takes POST"}
            )
        try:
            request = json.loads(read_body(environ) or b"{}")
        except ValueError as e:
            return json_answer(start_response, "400 Bad Request", {"message": f"not JSON: {e}"})
        try:
            if not isinstance(request, dict):
                raise ControlError("the body must be a JSON object")
            answer = handler(request)
        except ControlError as e:
            return json_answer(start_response, "400 Bad Request", {"message": str(e)})
        return json_answer(start_response, "200 OK", answer)
