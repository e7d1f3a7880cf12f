"""One emulator for the whole test session, in this process, on a free port."""

import json
import urllib.error
import urllib.request

import boto3
import pytest

from .server import start


@pytest.fixture(scope="session")
def emulator():
    server = start(0)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def client(emulator):
    """client("sagemaker") and so on: a boto3 client of the emulator."""
    made = {}

    def make(service):
        if service not in made:
            made[service] = boto3.client(
                service,
                endpoint_url=emulator,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return made[service]

    return make


@pytest.fixture(scope="session")
def post(emulator):
    """post(path, body, headers): an HTTP POST to the emulator; answers (status, body)."""

    def send(path, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            emulator + path, data=data, headers=headers or {}, method="POST"
        )
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    return send
