"""The emulator put together: moto, the rules AWS keeps and moto does not, the model check and
the control API, served on a loopback port (see the package's docstring)."""

import logging
import sys
import threading

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from .cloudwatch import imitate_aws_alarm_tags
from .sagemaker import imitate_instance_pools, imitate_update_endpoint, set_next_update
from .scaling import accept_aws_dimensions, imitate_aws_scaling
from .ssm import imitate_parameter_tiers
from .validation import ValidateOnly, precompile_patterns
from .wsgi import Control

CONTROL_ROUTES = {"/_emulator/endpoint-update": set_next_update}

_installed = threading.Lock()
_rules_installed = False


def install_rules():
    """Compiles the model patterns and patches AWS's rules into moto: once per process."""
    global _rules_installed
    with _installed:
        if _rules_installed:
            return
        precompile_patterns()
        imitate_aws_scaling()
        accept_aws_dimensions()
        imitate_aws_alarm_tags()
        imitate_instance_pools()
        imitate_update_endpoint()
        imitate_parameter_tiers()
        _rules_installed = True


def make_app():
    # The control API first, then the model check (which buffers the body moto reads). Every
    # other rule is patched into moto itself (install_rules).
    moto = DomainDispatcherApplication(create_backend_app)
    return Control(ValidateOnly(moto), CONTROL_ROUTES)


def start(port=0):
    """The emulator serving on 127.0.0.1:port (0: a free port) on threads, until shutdown()."""
    install_rules()
    server = make_server(
        "127.0.0.1", port, make_app(), threaded=True, request_handler=MotoRequestHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request in test output
    install_rules()
    args = [a for a in argv if a != "--forever"]
    port = int(args[0]) if args else 0
    server = make_server(
        "127.0.0.1", port, make_app(), threaded=True, request_handler=MotoRequestHandler
    )
    print(server.server_port, flush=True)
    if "--forever" in argv:
        server.serve_forever()
        return
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()
