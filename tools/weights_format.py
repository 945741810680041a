"""Helpers shared by fetch_weights.py, golden_vgg.py and their tests.

Standard library + numpy only.  Four parts:

* the project's ``.nsw`` weight file format (writer, strict reader);
* a restricted reader for legacy (pre-1.6, non-zip) ``torch.save`` files;
* a minimal protobuf wire-format reader and just enough ONNX on top of it;
* the default cache directory.

See docs/weights.md for the file format.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import pickletools
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------
# Cache directory
# --------------------------------------------------------------------------

ENV_DIR = "NEURAL_STYLE_WEIGHTS"


def default_weights_dir() -> Path:
    """$NEURAL_STYLE_WEIGHTS, else ${XDG_CACHE_HOME:-~/.cache}/neural-style/weights."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "neural-style" / "weights"


# --------------------------------------------------------------------------
# .nsw format
# --------------------------------------------------------------------------

MAGIC = b"NSWGHT01"
ALIGN = 64
FORMAT_NAME = "neural-style-weights"
FORMAT_VERSION = 1
LICENSE = "VGG weights by Oxford VGG (Simonyan & Zisserman), CC BY 4.0"
INPUT_SPEC = {"channels": "BGR", "scale": 255, "mean": [103.939, 116.779, 123.68]}
MANIFEST_KEYS = ("format", "version", "model", "architecture", "dtype", "input",
                 "source", "license", "layers", "payload_bytes", "payload_crc32")
DTYPES = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2")}
MAX_MANIFEST = 1 << 24

# conv layers per block
ARCH_BLOCKS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}
BLOCK_WIDTH = (64, 128, 256, 512, 512)


def arch_layers(arch: str):
    """[(name, in_channels, out_channels)] for a VGG architecture."""
    out = []
    cin = 3
    for b, (n, width) in enumerate(zip(ARCH_BLOCKS[arch], BLOCK_WIDTH), start=1):
        for i in range(1, n + 1):
            out.append((f"conv{b}_{i}", cin, width))
            cin = width
    return out


class NSWError(Exception):
    """A .nsw file is missing, malformed, truncated or corrupt."""


def align_up(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


def build_nsw(model: str, architecture: str, layers, dtype: str, source: str):
    """Return (header_bytes, payload_chunks, manifest).

    ``layers``: sequence of (name, weight OIHW, bias) numpy arrays.
    header_bytes covers magic, length, manifest and padding up to the payload.
    """
    if dtype not in DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}")
    npdt = DTYPES[dtype]
    chunks = []
    entries = []
    cursor = 0
    crc = 0

    def add(arr):
        nonlocal cursor, crc
        a = np.ascontiguousarray(arr, dtype=npdt)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"non-finite value after conversion to {dtype}")
        off = align_up(cursor)
        if off > cursor:
            pad = bytes(off - cursor)
            chunks.append(pad)
            crc = zlib.crc32(pad, crc)
        data = a.tobytes()
        chunks.append(data)
        crc = zlib.crc32(data, crc)
        cursor = off + len(data)
        return {"shape": [int(d) for d in a.shape], "offset": off, "bytes": len(data)}

    for name, w, b in layers:
        w = np.asarray(w)
        b = np.asarray(b)
        if w.ndim != 4 or b.shape != (w.shape[0],):
            raise ValueError(f"{name}: bad shapes {w.shape} / {b.shape}")
        entry = {"name": name, "in": int(w.shape[1]), "out": int(w.shape[0])}
        entry["weight"] = add(w)
        entry["bias"] = add(b)
        entries.append(entry)

    manifest = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "model": model,
        "architecture": architecture,
        "dtype": dtype,
        "input": INPUT_SPEC,
        "source": source,
        "license": LICENSE,
        "layers": entries,
        "payload_bytes": cursor,
        "payload_crc32": crc,
    }
    mbytes = json.dumps(manifest, separators=(",", ":")).encode("utf-8")
    head = MAGIC + struct.pack("<Q", len(mbytes)) + mbytes
    head += bytes(align_up(len(head)) - len(head))
    return head, chunks, manifest


def write_nsw(path, model, architecture, layers, dtype="float32", source="", verify=True,
              check_arch=True):
    """Write atomically: temp file in the same directory, fsync, verify, rename."""
    path = Path(path)
    head, chunks, manifest = build_nsw(model, architecture, layers, dtype, source)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(head)
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if verify:
            check_nsw(tmp, check_arch=check_arch)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return manifest


def _validate_manifest(m, payload_len_on_disk, check_arch=True):
    if not isinstance(m, dict):
        raise NSWError("manifest is not a JSON object")
    if set(m) != set(MANIFEST_KEYS):
        raise NSWError(f"manifest keys differ: {sorted(set(m) ^ set(MANIFEST_KEYS))}")
    if m["format"] != FORMAT_NAME or m["version"] != FORMAT_VERSION:
        raise NSWError(f"unsupported format {m['format']!r} version {m['version']!r}")
    if m["dtype"] not in DTYPES:
        raise NSWError(f"unsupported dtype {m['dtype']!r}")
    arch = m["architecture"]
    if arch not in ARCH_BLOCKS:
        raise NSWError(f"unknown architecture {arch!r}")
    pb = m["payload_bytes"]
    if not isinstance(pb, int) or pb < 0:
        raise NSWError("bad payload_bytes")
    if payload_len_on_disk < pb:
        raise NSWError(f"file truncated: payload has {payload_len_on_disk} of {pb} bytes")
    if payload_len_on_disk > pb:
        raise NSWError(f"{payload_len_on_disk - pb} unexpected trailing bytes")
    if not isinstance(m["payload_crc32"], int):
        raise NSWError("bad payload_crc32")
    itemsize = DTYPES[m["dtype"]].itemsize
    layers = m["layers"]
    if not isinstance(layers, list):
        raise NSWError("layers is not a list")
    cursor = 0
    prev_out = 3
    for L in layers:
        if not isinstance(L, dict) or set(L) != {"name", "in", "out", "weight", "bias"}:
            raise NSWError(f"bad layer entry {L!r:.80}")
        if L["in"] != prev_out:
            raise NSWError(f"{L['name']}: in={L['in']} but previous layer has out={prev_out}")
        prev_out = L["out"]
        want = {"weight": [L["out"], L["in"], 3, 3], "bias": [L["out"]]}
        for k in ("weight", "bias"):
            t = L[k]
            if not isinstance(t, dict) or set(t) != {"shape", "offset", "bytes"}:
                raise NSWError(f"{L['name']}.{k}: bad tensor entry")
            if t["shape"] != want[k]:
                raise NSWError(f"{L['name']}.{k}: shape {t['shape']} expected {want[k]}")
            if t["offset"] % ALIGN or t["offset"] < cursor:
                raise NSWError(f"{L['name']}.{k}: misaligned or overlapping offset {t['offset']}")
            if t["bytes"] != int(np.prod(t["shape"])) * itemsize:
                raise NSWError(f"{L['name']}.{k}: byte count does not match shape")
            cursor = t["offset"] + t["bytes"]
            if cursor > pb:
                raise NSWError(f"{L['name']}.{k}: extends past payload end")
    names = [(L["name"], L["in"], L["out"]) for L in layers]
    if check_arch and names != arch_layers(arch):
        raise NSWError(f"layers do not match architecture {arch}")


def read_nsw(path, load=True, verify_crc=True, check_arch=True):
    """Read and validate a .nsw file.

    Returns (manifest, tensors) where tensors maps layer name to
    (weight, bias) numpy arrays (read-only views of the file, little-endian)
    or is None when load=False.  Raises NSWError on any problem.
    check_arch=False accepts any chain of 3x3 layers (used by tests).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NSWError(f"{path}: no such file") from None
    if len(data) < 16 or data[:8] != MAGIC:
        raise NSWError(f"{path}: not a .nsw file (bad magic)")
    (mlen,) = struct.unpack_from("<Q", data, 8)
    if mlen > MAX_MANIFEST or 16 + mlen > len(data):
        raise NSWError(f"{path}: manifest length {mlen} out of range (truncated?)")
    try:
        manifest = json.loads(data[16:16 + mlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise NSWError(f"{path}: manifest is not valid UTF-8 JSON: {e}") from None
    start = align_up(16 + mlen)
    if start > len(data):
        raise NSWError(f"{path}: truncated before payload")
    if any(data[16 + mlen:start]):
        raise NSWError(f"{path}: non-zero header padding")
    try:
        _validate_manifest(manifest, len(data) - start, check_arch)
    except NSWError as e:
        raise NSWError(f"{path}: {e}") from None
    payload = memoryview(data)[start:]
    if verify_crc and zlib.crc32(payload) != manifest["payload_crc32"]:
        raise NSWError(f"{path}: payload crc32 mismatch (file corrupt)")
    if not load:
        return manifest, None
    dt = DTYPES[manifest["dtype"]]
    tensors = {}
    for L in manifest["layers"]:
        pair = []
        for k in ("weight", "bias"):
            t = L[k]
            a = np.frombuffer(payload, dtype=dt, count=t["bytes"] // dt.itemsize, offset=t["offset"])
            pair.append(a.reshape(t["shape"]))
        tensors[L["name"]] = tuple(pair)
    return manifest, tensors


def check_nsw(path, check_arch=True):
    """Validate structure and crc without materialising tensors; return manifest."""
    return read_nsw(path, load=False, check_arch=check_arch)[0]


# --------------------------------------------------------------------------
# Restricted legacy torch.save reader
# --------------------------------------------------------------------------

class UnsafePickleError(Exception):
    """The pickle uses an opcode, global or structure we do not accept."""


class TorchFileError(Exception):
    """The file is not a well-formed legacy torch.save file."""


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# Opcodes that only build plain data, plus the four we need for tensors
# (GLOBAL, REDUCE, BUILD, BINPERSID; GLOBAL is further restricted to the
# whitelist below).  Everything else (INST, OBJ, NEWOBJ*, EXT*, STACK_GLOBAL,
# PERSID, text STRING/UNICODE, ...) is refused.
_ALLOWED_OPS = frozenset("""
PROTO STOP MARK POP POP_MARK DUP
NONE NEWTRUE NEWFALSE BININT BININT1 BININT2 LONG1 BINFLOAT
BINUNICODE SHORT_BINUNICODE
EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3
EMPTY_LIST APPEND APPENDS EMPTY_DICT SETITEM SETITEMS
BINPUT LONG_BINPUT BINGET LONG_BINGET
GLOBAL REDUCE BUILD BINPERSID
""".split())


class _StorageType:
    """Stands in for torch.XStorage classes; deliberately not callable."""
    __slots__ = ("name", "dtype")

    def __init__(self, name, dtype):
        self.name = name
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        return f"torch.{self.name}"


_STORAGE_TYPES = {
    "FloatStorage": _StorageType("FloatStorage", "<f4"),
    "ByteStorage": _StorageType("ByteStorage", "u1"),
}


class _StorageRef:
    __slots__ = ("key", "stype", "numel", "array")

    def __init__(self, key, stype, numel):
        self.key = key
        self.stype = stype
        self.numel = numel
        self.array = None


class _TensorRef:
    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = offset
        self.size = size
        self.stride = stride


def _is_int_tuple(t):
    return isinstance(t, tuple) and all(type(v) is int and v >= 0 for v in t)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, _StorageRef):
        raise UnsafePickleError("_rebuild_tensor_v2: first argument is not a storage")
    if type(storage_offset) is not int or storage_offset < 0:
        raise UnsafePickleError("_rebuild_tensor_v2: bad storage offset")
    if not (_is_int_tuple(size) and _is_int_tuple(stride) and len(size) == len(stride)):
        raise UnsafePickleError("_rebuild_tensor_v2: bad size/stride")
    if not isinstance(requires_grad, bool):
        raise UnsafePickleError("_rebuild_tensor_v2: bad requires_grad")
    if backward_hooks is not None and not (
            type(backward_hooks) is collections.OrderedDict and not backward_hooks):
        raise UnsafePickleError("_rebuild_tensor_v2: backward hooks are not accepted")
    if metadata is not None and not (type(metadata) is dict and not metadata):
        raise UnsafePickleError("_rebuild_tensor_v2: tensor metadata is not accepted")
    return _TensorRef(storage, storage_offset, size, stride)


_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch", "FloatStorage"): _STORAGE_TYPES["FloatStorage"],
    ("torch", "ByteStorage"): _STORAGE_TYPES["ByteStorage"],
}


def scan_pickle_ops(f):
    """Scan one pickle from the stream f (advancing past its STOP) and refuse
    any opcode or global not on the whitelist."""
    try:
        for op, arg, pos in pickletools.genops(f):
            if op.name not in _ALLOWED_OPS:
                raise UnsafePickleError(f"refusing pickle opcode {op.name} at byte {pos}")
            if op.name == "GLOBAL":
                mod, _, name = arg.partition(" ")
                if (mod, name) not in _GLOBALS:
                    raise UnsafePickleError(f"refusing pickle global {mod}.{name}")
            if op.name == "PROTO" and arg > 2:
                raise UnsafePickleError(f"refusing pickle protocol {arg}")
    except UnsafePickleError:
        raise
    except Exception as e:  # malformed stream
        raise TorchFileError(f"malformed pickle: {e}") from None


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only knows the globals in _GLOBALS and resolves
    persistent ids to storage placeholders."""

    def __init__(self, f, storages=None):
        super().__init__(f)
        self.storages = storages if storages is not None else {}

    def find_class(self, module, name):
        try:
            return _GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"refusing pickle global {module}.{name}") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise UnsafePickleError(f"unexpected persistent id {pid!r:.80}")
        stype, key, location, numel = pid[1:5]
        if not isinstance(stype, _StorageType):
            raise UnsafePickleError("persistent id: not a whitelisted storage type")
        if not isinstance(key, str) or not isinstance(location, str) or type(numel) is not int or numel < 0:
            raise UnsafePickleError("persistent id: bad key/location/size")
        if len(pid) == 6 and pid[5] is not None:
            raise UnsafePickleError("persistent id: storage views are not supported")
        ref = self.storages.get(key)
        if ref is None:
            ref = self.storages[key] = _StorageRef(key, stype, numel)
        elif ref.stype is not stype or ref.numel != numel:
            raise UnsafePickleError(f"storage {key} referenced with conflicting type/size")
        return ref


def restricted_load_one(f, storages=None):
    """Scan, then unpickle, exactly one pickle from stream f."""
    start = f.tell()
    scan_pickle_ops(f)
    end = f.tell()
    f.seek(start)
    try:
        obj = RestrictedUnpickler(f, storages).load()
    except (UnsafePickleError, TorchFileError):
        raise
    except Exception as e:
        raise TorchFileError(f"bad pickle: {e}") from None
    if f.tell() != end:
        raise TorchFileError("pickle length mismatch between scan and load")
    return obj


def _materialise(t: _TensorRef):
    # Re-check: BUILD could in principle have altered the placeholder.
    if not (isinstance(t.storage, _StorageRef) and type(t.offset) is int and t.offset >= 0
            and _is_int_tuple(t.size) and _is_int_tuple(t.stride)
            and len(t.size) == len(t.stride)):
        raise UnsafePickleError("tensor placeholder was tampered with")
    arr = t.storage.array
    numel = int(np.prod(t.size)) if t.size else 1
    if numel == 0:
        return np.zeros(t.size, dtype=arr.dtype)
    last = t.offset + sum((s - 1) * st for s, st in zip(t.size, t.stride))
    if last >= arr.size:
        raise TorchFileError("tensor extends past the end of its storage")
    contiguous = []
    acc = 1
    for s in reversed(t.size):
        contiguous.append(acc)
        acc *= s
    contiguous.reverse()
    if all(s == 1 or st == c for s, st, c in zip(t.size, t.stride, contiguous)):
        return arr[t.offset:t.offset + numel].reshape(t.size).copy()
    view = np.lib.stride_tricks.as_strided(
        arr[t.offset:], shape=t.size,
        strides=[st * arr.itemsize for st in t.stride], writeable=False)
    return np.ascontiguousarray(view)


def load_legacy_torch(data: bytes):
    """Read a legacy (non-zip) torch.save file holding a dict of tensors.

    Returns an ordered dict name -> numpy array (float32 or uint8).
    """
    if data[:2] == b"PK":
        raise TorchFileError("zip-format torch file; only the legacy format is supported")
    f = io.BytesIO(data)
    magic = restricted_load_one(f)
    if magic != LEGACY_MAGIC:
        raise TorchFileError("not a legacy torch.save file (bad magic number)")
    proto = restricted_load_one(f)
    if proto != LEGACY_PROTOCOL:
        raise TorchFileError(f"unsupported torch protocol version {proto!r}")
    sysinfo = restricted_load_one(f)
    if not isinstance(sysinfo, dict) or sysinfo.get("little_endian") is not True:
        raise TorchFileError("file was not written on a little-endian machine")
    storages = {}
    obj = restricted_load_one(f, storages)
    if not isinstance(obj, dict) or not all(
            isinstance(k, str) and isinstance(v, _TensorRef) for k, v in obj.items()):
        raise TorchFileError("top-level object is not a dict of tensors")
    keys = restricted_load_one(f)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise TorchFileError("bad storage key list")
    if len(set(keys)) != len(keys) or set(keys) != set(storages):
        raise TorchFileError("storage key list does not match the storages used")
    pos = f.tell()
    for k in keys:
        ref = storages[k]
        if pos + 8 > len(data):
            raise TorchFileError("truncated storage data")
        (n,) = struct.unpack_from("<q", data, pos)
        pos += 8
        if n != ref.numel:
            raise TorchFileError(f"storage {k}: size {n} does not match pickle ({ref.numel})")
        nbytes = n * ref.stype.dtype.itemsize
        if pos + nbytes > len(data):
            raise TorchFileError("truncated storage data")
        ref.array = np.frombuffer(data, dtype=ref.stype.dtype, count=n, offset=pos)
        pos += nbytes
    if pos != len(data):
        raise TorchFileError(f"{len(data) - pos} unexpected trailing bytes")
    return collections.OrderedDict((k, _materialise(v)) for k, v in obj.items())


# --------------------------------------------------------------------------
# Minimal protobuf wire format + ONNX
# --------------------------------------------------------------------------

class ProtobufError(Exception):
    pass


def read_varint(buf, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint too long")


def iter_fields(buf):
    """Yield (field_number, wire_type, value) for each field of a message.

    value: int for varints (wire 0), a memoryview for length-delimited
    (wire 2) and for fixed 64/32-bit fields (wire 1/5, raw little-endian bytes).
    Groups (wire 3/4) are refused.
    """
    buf = memoryview(buf)
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = read_varint(buf, pos)
        field, wt = key >> 3, key & 7
        if field == 0:
            raise ProtobufError("field number 0")
        if wt == 0:
            val, pos = read_varint(buf, pos)
        elif wt == 2:
            ln, pos = read_varint(buf, pos)
            if pos + ln > n:
                raise ProtobufError(f"field {field}: length {ln} past end of message")
            val = buf[pos:pos + ln]
            pos += ln
        elif wt in (1, 5):
            w = 8 if wt == 1 else 4
            if pos + w > n:
                raise ProtobufError(f"field {field}: truncated fixed{w * 8}")
            val = buf[pos:pos + w]
            pos += w
        else:
            raise ProtobufError(f"field {field}: unsupported wire type {wt}")
        yield field, wt, val


def _signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _ints(wt, val):
    """Repeated int64: unpacked varint or packed."""
    if wt == 0:
        return [_signed64(val)]
    if wt == 2:
        out = []
        pos = 0
        while pos < len(val):
            v, pos = read_varint(val, pos)
            out.append(_signed64(v))
        return out
    raise ProtobufError("bad wire type for int64")


ONNX_FLOAT = 1


class OnnxTensor:
    def __init__(self, name, dims, data_type, array, external):
        self.name = name
        self.dims = dims
        self.data_type = data_type
        self.array = array  # float32 numpy array for FLOAT tensors, else None
        self.external = external


def parse_onnx_tensor(buf):
    name = ""
    dims = []
    data_type = 0
    raw = None
    floats = []
    external = False
    for f, wt, v in iter_fields(buf):
        if f == 1:
            dims.extend(_ints(wt, v))
        elif f == 2 and wt == 0:
            data_type = v
        elif f == 4:
            if wt == 2:
                floats.append(np.frombuffer(v, dtype="<f4"))
            elif wt == 5:
                floats.append(np.frombuffer(v, dtype="<f4"))
            else:
                raise ProtobufError("bad float_data")
        elif f == 8 and wt == 2:
            name = bytes(v).decode("utf-8")
        elif f == 9 and wt == 2:
            raw = v
        elif f in (13, 14):  # external_data / data_location
            if f == 13 or (wt == 0 and v == 1):
                external = True
    array = None
    if data_type == ONNX_FLOAT and not external:
        if raw is not None:
            array = np.frombuffer(raw, dtype="<f4").copy()
        elif floats:
            array = np.concatenate(floats).astype("<f4")
        else:
            array = np.zeros(0, dtype="<f4")
        if array.size != int(np.prod(dims, dtype=np.int64)):
            raise ProtobufError(f"tensor {name}: {array.size} values for dims {dims}")
        array = array.reshape(dims)
    return OnnxTensor(name, dims, data_type, array, external)


def parse_onnx_node(buf):
    node = {"inputs": [], "outputs": [], "op_type": "", "name": "", "attrs": {}}
    for f, wt, v in iter_fields(buf):
        if wt != 2:
            continue
        if f == 1:
            node["inputs"].append(bytes(v).decode("utf-8"))
        elif f == 2:
            node["outputs"].append(bytes(v).decode("utf-8"))
        elif f == 3:
            node["name"] = bytes(v).decode("utf-8")
        elif f == 4:
            node["op_type"] = bytes(v).decode("utf-8")
        elif f == 5:
            aname, aval = None, None
            for g, w2, u in iter_fields(v):
                if g == 1 and w2 == 2:
                    aname = bytes(u).decode("utf-8")
                elif g == 3 and w2 == 0:
                    aval = _signed64(u)
                elif g == 4 and w2 == 2:
                    aval = bytes(u).decode("utf-8", "replace")
                elif g == 8:
                    aval = (aval or []) + _ints(w2, u)
            if aname is not None:
                node["attrs"][aname] = aval
    return node


def parse_onnx_model(data):
    """Return (nodes, initializers) of an ONNX ModelProto.

    nodes: list of dicts in graph order; initializers: dict name -> OnnxTensor.
    """
    graph = None
    for f, wt, v in iter_fields(data):
        if f == 7 and wt == 2:
            graph = v
    if graph is None:
        raise ProtobufError("ModelProto has no graph")
    nodes = []
    inits = {}
    for f, wt, v in iter_fields(graph):
        if f == 1 and wt == 2:
            nodes.append(parse_onnx_node(v))
        elif f == 5 and wt == 2:
            t = parse_onnx_tensor(v)
            inits[t.name] = t
    return nodes, inits
