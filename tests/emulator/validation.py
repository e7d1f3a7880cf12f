"""Requests checked against botocore's model of the AWS API, instead of served.

moto accepts requests real AWS would reject, so a request carrying `x-validate-only: 1` is not
served: it is checked against botocore's model of the API and answered with HTTP 200 and

    {"service": str | null, "operation": str | null,
     "protocol": "json" | "query" | "rpc-v2-cbor" | null,
     "params": object | null, "violations": [str, ...]}

`violations` is `[]` when the request conforms. `protocol` is how the request came: AWS JSON
(an X-Amz-Target header), AWS query (a form body) or Smithy RPC v2 CBOR (a `smithy-protocol:
rpc-v2-cbor` header or an `application/cbor` body, POSTed to
`/service/<target prefix>/operation/<operation>`, which names the service and the operation).
`params` is the request's input, decoded whatever the protocol, as JSON, so that a caller that
cannot parse a protocol (a test proxy reading CBOR) still learns which objects a request names:
members under their model names, timestamps as epoch seconds (numbers; a query timestamp that
cannot be read stays its text), blobs as base64 text, integers, numbers and booleans as JSON's
(a query value that cannot be read as its type stays its text), non-finite doubles as the
strings "NaN", "Infinity" and "-Infinity", as AWS JSON writes them. Members the model does not
know are kept (JSON and CBOR; a query parameter the model does not know is only reported). It is
null when the body cannot be decoded, or, for the query protocol, when the operation is unknown
(a form is decoded by the operation's shape).
"""

import base64
import binascii
import datetime
import decimal
import functools
import io
import json
import math
import re
import sys
import traceback
import unicodedata
import warnings
from urllib.parse import parse_qsl

import botocore.session
from moto.core import cbor

from .wsgi import read_body

# The services we check, and how a request names them: X-Amz-Target prefix (JSON) -> (botocore
# service, JSON version), and the query protocol's Version parameter -> botocore service.
JSON_TARGETS = {
    "AnyScaleFrontendService": ("application-autoscaling", "1.1"),
    "GraniteServiceVersion20100801": ("cloudwatch", "1.0"),
    "SageMaker": ("sagemaker", "1.1"),
    "AmazonSSM": ("ssm", "1.1"),
}
QUERY_VERSIONS = {"2010-08-01": "cloudwatch"}
# Smithy RPC v2 CBOR names the service by its target prefix too, in the path.
CBOR_PATH = re.compile(r"/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)\Z")
CBOR = "rpc-v2-cbor"  # the `smithy-protocol` header's value, and the answer's `protocol`

# The operations whose input patterns are compiled at startup, so that a pattern this module
# cannot translate stops the server before any test runs: None = every operation. SageMaker's
# model has over 400 operations (and patterns Python cannot compile, in operations the function
# never calls), SSM's over 140: for them, the operations the function calls. Any other
# operation's patterns are compiled when a request first needs them; one that cannot be
# translated then fails that request loudly (HTTP 500 with the error), never passes it.
PRECOMPILED = {
    "application-autoscaling": None,
    "cloudwatch": None,
    "sagemaker": (
        "DescribeEndpoint",
        "DescribeEndpointConfig",
        "UpdateEndpoint",
        "CreateEndpoint",
        "CreateEndpointConfig",
        "CreateModel",
    ),
    "ssm": (
        "GetParameter",
        "GetParametersByPath",
        "PutParameter",
        "DeleteParameter",
        "DeleteParameters",
    ),
}

_session = botocore.session.get_session()


@functools.cache  # loading a model parses megabytes of JSON: once per service
def service_model(name):
    return _session.get_service_model(name)


# --- Patterns: the models carry Java regexes; values are checked against the whole pattern. ---

# Java's POSIX classes, as code point ranges.
_POSIX = {
    "Lower": [(0x61, 0x7A)],
    "Upper": [(0x41, 0x5A)],
    "ASCII": [(0x00, 0x7F)],
    "Alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "Digit": [(0x30, 0x39)],
    "Alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "Punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "Graph": [(0x21, 0x7E)],
    "Print": [(0x20, 0x7E)],
    "Blank": [(0x09, 0x09), (0x20, 0x20)],
    "Cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "XDigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
    "Space": [(0x09, 0x0D), (0x20, 0x20)],
}


@functools.cache  # one pass over all code points (~0.2 s), only if a pattern needs it
def _unicode_categories():
    ranges = {}
    for cp in range(sys.maxunicode + 1):
        runs = ranges.setdefault(unicodedata.category(chr(cp)), [])
        if runs and runs[-1][1] == cp - 1:
            runs[-1] = (runs[-1][0], cp)
        else:
            runs.append((cp, cp))
    return ranges


def _property_ranges(name):
    """Code point ranges of Java's \\p{name}: a POSIX class or a Unicode general category."""
    if name in _POSIX:
        return _POSIX[name]
    category = name[2:] if name.startswith("Is") else name
    matching = [
        r for cat, rs in _unicode_categories().items() if cat.startswith(category) for r in rs
    ]
    if not matching or len(category) > 2:
        raise ValueError(f"unsupported character property \\p{{{name}}}")
    return sorted(matching)


_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.I)
_PROPERTY = re.compile(r"\\([pP])(?:\{(\w+)\}|([A-Z]))")


def to_python_regex(java):
    """Rewrites the Java regex constructs Python's `re` lacks or reads differently."""
    out, i, in_class = [], 0, False
    while i < len(java):
        char = java[i]
        if char == "\\":
            if m := _SURROGATE_PAIR.match(java, i):
                # Java writes astral characters as UTF-16 pairs; a Python str holds code points.
                hi, lo = int(m[1], 16), int(m[2], 16)
                out.append("\\U%08X" % (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)))
                i = m.end()
                continue
            if m := _PROPERTY.match(java, i):
                ranges = _property_ranges(m[2] or m[3])
                body = "".join(f"\\U{low:08X}-\\U{high:08X}" for low, high in ranges)
                if m[1] == "P" and in_class:
                    raise ValueError(f"cannot translate {m[0]} inside a character class")
                out.append(body if in_class else f"[{'^' if m[1] == 'P' else ''}{body}]")
                i = m.end()
                continue
            if java.startswith("\\Z", i):  # Java's \Z allows a final line terminator; Python's not
                raise ValueError("cannot translate \\Z")
            out.append("\\Z" if java.startswith("\\z", i) else java[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
            i += 1
            if java.startswith("^", i):
                out.append("^")
                i += 1
            continue
        if char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@functools.cache
def compiled_pattern(java):
    python = to_python_regex(java)
    # Java's nested classes and `&&` intersections compile in Python with another meaning, only
    # warning about it: make that an error so such a pattern fails loudly instead.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return re.compile(python)
        except (re.error, FutureWarning) as e:
            raise ValueError(f"cannot compile model pattern {java!r} (as {python!r}): {e}") from e


def precompile_patterns():
    """Compiles every pattern in the input shapes of the PRECOMPILED operations now, so a gap
    stops the server at startup."""
    seen = set()

    def walk(shape):
        if shape is None or shape.name in seen:
            return
        seen.add(shape.name)
        if "pattern" in shape.metadata:
            compiled_pattern(shape.metadata["pattern"])
        children = {
            "structure": lambda: shape.members.values(),
            "list": lambda: [shape.member],
            "map": lambda: [shape.key, shape.value],
        }.get(shape.type_name, list)()
        for child in children:
            walk(child)

    for service, operations in PRECOMPILED.items():
        model = service_model(service)
        seen.clear()  # shape names are per model
        for op in model.operation_names if operations is None else operations:
            walk(model.operation_model(op).input_shape)


# --- Validation ---------------------------------------------------------------------------------

_INT_RANGES = {"byte": 7, "short": 15, "integer": 31, "long": 63}
_QUERY_INT = re.compile(r"-?[0-9]+\Z")
_QUERY_FLOAT = re.compile(
    r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z|NaN\Z|-?Infinity\Z"
)
_ISO8601 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)\Z")
_SPECIAL_FLOATS = ("NaN", "Infinity", "-Infinity")  # how AWS JSON writes non-finite doubles


def _show(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_type(value):
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
        type(None): "null",
        bytes: "byte string",
        datetime.datetime: "timestamp",
    }.get(type(value), type(value).__name__)


class Checker:
    """Checks a decoded input against its shape. In the query protocol every scalar arrives as
    text, so scalars are parsed here from text rather than type-checked as JSON values."""

    def __init__(self, protocol):
        self.protocol = protocol  # "json", "query" or "rpc-v2-cbor"
        self.violations = []

    def fail(self, path, message):
        self.violations.append(f"{path}: {message}")

    def check(self, shape, value, path):
        method = getattr(self, "_" + shape.type_name, None)
        if method is None:
            self.fail(path, f"this checker cannot check {shape.type_name} shapes")
        else:
            method(shape, value, path)

    def _bounds(self, shape, number, path, what):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and number < low:
            self.fail(path, f"{what} {number} below min {low}")
        if high is not None and number > high:
            self.fail(path, f"{what} {number} above max {high}")

    def _structure(self, shape, value, path):
        if not isinstance(value, dict):
            return self.fail(path, f"expected structure, got {_json_type(value)}")
        # JSON and CBOR carry members under their serialized names; the query decoder already
        # maps them.
        wire = {m.serialization.get("name", n): n for n, m in shape.members.items()}
        present = {}
        for key, member_value in value.items():
            name = key if self.protocol == "query" else wire.get(key)
            if name is None:
                self.fail(f"{path}.{key}", "unknown member")
            elif member_value is not None:  # AWS reads a null as an absent member
                present[name] = member_value
        for name in shape.required_members:
            if name not in present:
                self.fail(f"{path}.{name}", "required member missing")
        if shape.is_tagged_union and len(present) != 1:
            self.fail(path, f"union needs exactly one member, got {sorted(present)}")
        for name, member_value in present.items():
            self.check(shape.members[name], member_value, f"{path}.{name}")

    def _list(self, shape, value, path):
        if not isinstance(value, list):
            return self.fail(path, f"expected list, got {_json_type(value)}")
        self._bounds(shape, len(value), path, "size")
        for i, item in enumerate(value):
            if item is None:
                self.fail(f"{path}[{i}]", "null list element")
            else:
                self.check(shape.member, item, f"{path}[{i}]")

    def _map(self, shape, value, path):
        if not isinstance(value, dict):
            return self.fail(path, f"expected map, got {_json_type(value)}")
        self._bounds(shape, len(value), path, "size")
        for key, item in value.items():
            self.check(shape.key, key, f"{path} key {_show(key)}")
            if item is None:
                self.fail(f"{path}[{_show(key)}]", "null map value")
            else:
                self.check(shape.value, item, f"{path}[{_show(key)}]")

    def _string(self, shape, value, path):
        if not isinstance(value, str):
            return self.fail(path, f"expected string, got {_json_type(value)}")
        self._bounds(shape, len(value), path, "length")  # len counts code points, as Smithy does
        if shape.enum and value not in shape.enum:
            self.fail(path, f"{_show(value)} is not one of {shape.enum}")
        pattern = shape.metadata.get("pattern")
        # The whole value must match, as the services' own (Java) validators check it. Smithy
        # calls patterns unanchored, but then `a/b` would pass ScheduledActionName's pattern,
        # which is plainly meant to refuse a '/'; the stricter reading keeps requests safe.
        if pattern is not None and not compiled_pattern(pattern).fullmatch(value):
            self.fail(path, f"{_show(value)} does not match pattern {pattern!r}")

    def _integer(self, shape, value, path):
        if self.protocol == "query":
            if not _QUERY_INT.match(value):
                return self.fail(path, f"expected integer text, got {_show(value)}")
            value = int(value)
        elif isinstance(value, bool) or not isinstance(value, int):
            return self.fail(path, f"expected integer, got {_json_type(value)} {_show(value)}")
        bits = _INT_RANGES[shape.type_name]
        if not -(2**bits) <= value < 2**bits:
            return self.fail(path, f"{value} out of range for a {shape.type_name}")
        self._bounds(shape, value, path, "value")

    _long = _short = _byte = _integer

    def _double(self, shape, value, path):
        if self.protocol == "query":
            if not _QUERY_FLOAT.match(value):
                return self.fail(path, f"expected number text, got {_show(value)}")
            value = float(value)
        elif self.protocol == "json" and value in _SPECIAL_FLOATS:
            value = float(value)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.fail(path, f"expected number, got {_json_type(value)} {_show(value)}")
        if value == value:  # NaN has no place in a range
            self._bounds(shape, value, path, "value")

    _float = _double

    def _boolean(self, shape, value, path):
        if self.protocol == "query" and value not in ("true", "false"):
            self.fail(path, f"expected true or false, got {_show(value)}")
        elif self.protocol != "query" and not isinstance(value, bool):
            self.fail(path, f"expected boolean, got {_json_type(value)} {_show(value)}")

    def _timestamp(self, shape, value, path):
        if self.protocol == CBOR:  # tag 1 (epoch seconds), which the decoder makes a datetime
            if not isinstance(value, datetime.datetime):
                self.fail(
                    path,
                    "expected a timestamp (CBOR tag 1, epoch seconds), got "
                    f"{_json_type(value)} {_show(value)}",
                )
            return
        if self.protocol == "json":  # AWS JSON sends epoch seconds
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(path, f"expected epoch seconds, got {_json_type(value)} {_show(value)}")
            return
        m = _ISO8601.match(value)
        try:
            datetime.datetime(*map(int, m.groups()[:6])) if m else None
        except ValueError:
            m = None
        if not m:
            self.fail(path, f"expected an ISO 8601 timestamp, got {_show(value)}")

    def _blob(self, shape, value, path):
        if self.protocol == CBOR:  # a CBOR byte string
            if not isinstance(value, bytes):
                return self.fail(path, f"expected a byte string, got {_json_type(value)}")
            return self._bounds(shape, len(value), path, "size")
        if not isinstance(value, str):
            return self.fail(path, f"expected base64 text, got {_json_type(value)}")
        try:
            self._bounds(shape, len(base64.b64decode(value, validate=True)), path, "size")
        except binascii.Error:
            self.fail(path, "not valid base64")


class QueryForm:
    """Rebuilds a structure from the query protocol's flattened form parameters, the inverse of
    botocore's QuerySerializer, recording every parameter used so the rest can be reported."""

    def __init__(self, params, checker):
        self.params, self.checker, self.used = params, checker, set()

    def _has(self, key):
        return key in self.params or any(k.startswith(key + ".") for k in self.params)

    def _indexes(self, base, path):
        heads = {
            key[len(base) + 1 :].split(".", 1)[0]
            for key in self.params
            if key.startswith(base + ".")
        }
        found = sorted((h for h in heads if h.isascii() and h.isdigit()), key=lambda h: (int(h), h))
        if found != [str(i) for i in range(1, len(found) + 1)]:  # a gap, 0, or a leading zero
            self.checker.fail(
                path, f"indexes under {base}. must run 1..n without gaps, got {found}"
            )
        # Decode them all anyway, so their contents are checked too; other heads stay unknown.
        return found

    def decode(self, shape, key, path):
        kind, flattened = shape.type_name, shape.serialization.get("flattened")
        if kind == "structure":
            out = {}
            for name, member in shape.members.items():
                wire = member.serialization.get("name", name)
                member_key = f"{key}.{wire}" if key else wire
                if self._has(member_key):
                    out[name] = self.decode(member, member_key, f"{path}.{name}")
            return out
        if kind == "list":
            if key in self.params:  # botocore sends an empty list as a bare `Name=`
                self.used.add(key)
                if self.params[key] == "":
                    return []
                self.checker.fail(path, f"expected a list, got {key}={_show(self.params[key])}")
            if flattened:
                base = key
                if "name" in shape.member.serialization:
                    base = ".".join(key.split(".")[:-1] + [shape.member.serialization["name"]])
            else:
                base = f"{key}.{shape.member.serialization.get('name', 'member')}"
            return [
                self.decode(shape.member, f"{base}.{i}", f"{path}[{n}]")
                for n, i in enumerate(self._indexes(base, path))
            ]
        if kind == "map":
            base = key if flattened else f"{key}.entry"
            key_name = shape.key.serialization.get("name", "key")
            value_name = shape.value.serialization.get("name", "value")
            out = {}
            for i in self._indexes(base, path):
                key_key, value_key = f"{base}.{i}.{key_name}", f"{base}.{i}.{value_name}"
                if key_key not in self.params:
                    self.checker.fail(path, f"{base}.{i} has no {key_name}")
                    continue
                self.used.add(key_key)
                map_key = self.params[key_key]
                if map_key in out:
                    self.checker.fail(path, f"map key {_show(map_key)} given twice")
                if self._has(value_key):
                    out[map_key] = self.decode(shape.value, value_key, f"{path}[{_show(map_key)}]")
                else:
                    self.checker.fail(path, f"{base}.{i} has no {value_name}")
            return out
        if key in self.params:  # a scalar: its text, parsed by the Checker
            self.used.add(key)
            return self.params[key]
        return None  # only sub-keys like `Name.x`: left unused, so reported as unknown


# --- Requests -----------------------------------------------------------------------------------


def _media_type(environ):
    return environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()


def _speaks(service, protocol):
    """Whether a service's model lists a protocol (botocore's names: json, query,
    smithy-rpc-v2-cbor)."""
    model = service_model(service)
    return protocol in (model.metadata.get("protocols") or [model.protocol])


def _is_cbor(environ):
    return (
        environ.get("HTTP_SMITHY_PROTOCOL", "").strip().lower() == CBOR
        or _media_type(environ) == "application/cbor"
    )


# --- The request's input as JSON (the answer's `params`) ---------------------------------------


def _epoch(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    seconds = moment.timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def plain(value):
    """A decoded value as JSON, without a shape to go by: byte strings as base64 text, datetimes
    as epoch seconds, non-finite numbers as AWS JSON's strings, map keys as text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime):
        return _epoch(value)
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    return value


def _query_scalar(kind, text):
    """A query parameter's text as the JSON value of its type, or the text if it is not one."""
    if kind in _INT_RANGES and _QUERY_INT.match(text):
        return int(text)
    if kind in ("double", "float") and _QUERY_FLOAT.match(text):
        return plain(float(text))
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    if kind == "timestamp" and _ISO8601.match(text):
        try:
            return _epoch(datetime.datetime.fromisoformat(text))
        except ValueError:
            return text
    return text


def to_params(shape, value, protocol):
    """A decoded input as JSON, by its shape (see the module's docstring)."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        names = {m.serialization.get("name", n): n for n, m in shape.members.items()}
        out = {}
        for key, item in value.items():
            name = key if protocol == "query" else names.get(key)
            if item is None:
                continue
            if name in shape.members:
                out[name] = to_params(shape.members[name], item, protocol)
            else:
                out[str(key)] = plain(item)
        return out
    if kind == "list" and isinstance(value, list):
        return [to_params(shape.member, item, protocol) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {str(k): to_params(shape.value, v, protocol) for k, v in value.items()}
    if protocol == "query" and isinstance(value, str):
        return _query_scalar(kind, value)
    return plain(value)


# --- Requests -----------------------------------------------------------------------------------


def _read_json(environ, body, problems):
    """(service, operation, document) of an AWS JSON request, or None."""
    prefix, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
    if prefix not in JSON_TARGETS:
        problems.append(f"request: unknown X-Amz-Target prefix {prefix!r}")
        return None
    service, json_version = JSON_TARGETS[prefix]
    if _media_type(environ) != f"application/x-amz-json-{json_version}":
        problems.append(
            f"request: Content-Type {environ.get('CONTENT_TYPE')!r}, "
            f"expected application/x-amz-json-{json_version}"
        )
    try:
        document = json.loads(body or b"{}")
    except ValueError as e:
        problems.append(f"request: body is not JSON: {e}")
        return None
    return service, operation, document


def _read_cbor(environ, body, problems, result):
    """(service, operation, document) of a Smithy RPC v2 CBOR request, or None."""
    path = environ.get("PATH_INFO", "")
    m = CBOR_PATH.search(path)
    if m is None:
        problems.append(
            f"request: path {path!r} is not /service/<service>/operation/<operation>, "
            "as Smithy RPC v2 CBOR needs"
        )
        return None
    prefix, operation = m["service"], m["operation"]
    result["operation"] = operation
    if prefix not in JSON_TARGETS:
        problems.append(f"request: unknown service {prefix!r} in the path")
        return None
    service = JSON_TARGETS[prefix][0]
    if not _speaks(service, "smithy-rpc-v2-cbor"):
        problems.append(f"request: {service} does not speak Smithy RPC v2 CBOR")
    header = environ.get("HTTP_SMITHY_PROTOCOL")
    if header != CBOR:
        problems.append(f"request: smithy-protocol header {header!r}, expected {CBOR!r}")
    if body and _media_type(environ) != "application/cbor":
        problems.append(
            f"request: Content-Type {environ.get('CONTENT_TYPE')!r}, expected application/cbor"
        )
    try:
        document = cbor.loads(body) if body else {}
    except Exception as e:  # whatever the decoder cannot read, the body is not CBOR it can
        problems.append(f"request: body is not CBOR: {type(e).__name__}: {e}")
        return None
    return service, operation, document


def _read_query(body, problems, result):
    """(service, operation, params) of an AWS query request, or None."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        problems.append("request: form body is not UTF-8")
        return None
    params = {}
    for key, value in pairs:
        if key in params:
            problems.append(f"request: parameter {key} given more than once")
        params.setdefault(key, value)
    operation, version = params.pop("Action", None), params.pop("Version", None)
    result["operation"] = operation
    if version not in QUERY_VERSIONS:
        problems.append(f"request: unknown Version {version!r} (known: {sorted(QUERY_VERSIONS)})")
        return None
    if operation is None:
        problems.append("request: no Action parameter")
    return QUERY_VERSIONS[version], operation, params


def validate(environ, body):
    """Returns the validate-only answer for one request."""
    result = {
        "service": None,
        "operation": None,
        "protocol": None,
        "params": None,
        "violations": [],
    }
    problems = result["violations"]
    if environ["REQUEST_METHOD"] != "POST":
        problems.append(f"request: method {environ['REQUEST_METHOD']}, AWS SDKs send POST")
    if environ.get("HTTP_X_AMZ_TARGET") is not None:
        protocol = "json"
    elif _is_cbor(environ):
        protocol = CBOR
    elif _media_type(environ) == "application/x-www-form-urlencoded":
        protocol = "query"
    else:
        problems.append(
            "request: neither X-Amz-Target (JSON), smithy-protocol: rpc-v2-cbor (CBOR) nor a "
            "form body (query): cannot tell the protocol (Content-Type "
            f"{environ.get('CONTENT_TYPE')!r}, path {environ.get('PATH_INFO')!r})"
        )
        return result
    result["protocol"] = protocol
    if protocol == "json":
        read = _read_json(environ, body, problems)
    elif protocol == CBOR:
        read = _read_cbor(environ, body, problems, result)
    else:
        read = _read_query(body, problems, result)
    if read is None:
        return result
    service, operation, document = read
    result["service"], result["operation"] = service, operation
    model = service_model(service)
    if operation not in model.operation_names:
        if operation is not None:
            problems.append(f"request: {service} has no operation {operation!r}")
        if protocol != "query":
            result["params"] = plain(document)
        return result
    shape = model.operation_model(operation).input_shape
    checker = Checker(protocol)
    if protocol == "query":
        params = document
        form = QueryForm(params, checker)
        document = form.decode(shape, "", operation) if shape is not None else {}
        checker.violations.extend(
            f"{operation}: unknown parameter {k}" for k in params if k not in form.used
        )
    if shape is not None:
        checker.check(shape, document, operation)
        result["params"] = to_params(shape, document, protocol)
    else:
        if document:
            checker.fail(operation, "takes no input")
        result["params"] = plain(document)
    problems.extend(checker.violations)
    return result


class ValidateOnly:
    """WSGI middleware: validate-only requests are answered here, all others go to moto."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        body = read_body(environ)
        # Having read the stream, hand moto an equivalent one.
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        if environ.get("HTTP_X_VALIDATE_ONLY", "").strip() != "1":
            return self.app(environ, start_response)
        try:
            status, payload, content_type = (
                "200 OK",
                json.dumps(validate(environ, body)),
                "application/json",
            )
        except Exception:  # a checker bug must not pass for a verdict
            status, payload, content_type = (
                "500 Internal Server Error",
                traceback.format_exc(),
                "text/plain",
            )
        data = payload.encode()
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]
