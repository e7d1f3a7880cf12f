"""Runs moto on a loopback port and prints the port; exits when its stdin closes.

The tests start it as a child and keep its stdin open: when the test process ends, for any
reason, the pipe closes and the emulator goes with it, so no server outlives a test run.
"""
import logging
import sys

from moto.server import ThreadedMotoServer

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request in test output

server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
