"""One emulator for the whole test session, in this process, on a free port."""

import contextlib
import json
import urllib.error
import urllib.request

import boto3
import botocore.client
import pytest

from .server import start


@pytest.fixture(scope="session")
def emulator():
    server = start(0)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def client(emulator):
    """client("sagemaker") and so on: a boto3 client of the emulator. client("cloudwatch",
    protocol) speaks that wire protocol (botocore's names: "json", "query",
    "smithy-rpc-v2-cbor"), where botocore would pick the first its model lists that it knows."""
    made = {}

    def make(service, protocol=None):
        if (service, protocol) not in made:
            with speaking(protocol):
                made[service, protocol] = boto3.client(
                    service,
                    endpoint_url=emulator,
                    region_name="us-east-1",
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                )
        return made[service, protocol]

    return make


@contextlib.contextmanager
def speaking(protocol):
    """While it lasts, new botocore clients speak `protocol` (None: as botocore chooses). A
    client's serializer and parser follow its service model's `resolved_protocol`, read once when
    the client is made."""
    if protocol is None:
        yield
        return
    load = botocore.client.ClientCreator._load_service_model

    def load_speaking(self, service_name, api_version=None):
        model = load(self, service_name, api_version)
        if protocol not in (model.metadata.get("protocols") or [model.protocol]):
            raise ValueError(f"{service_name} does not speak {protocol}")
        model.__dict__["resolved_protocol"] = protocol  # a cached property: preset its value
        return model

    botocore.client.ClientCreator._load_service_model = load_speaking
    try:
        yield
    finally:
        botocore.client.ClientCreator._load_service_model = load


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
