#!/usr/bin/python3
"""Writes the fuzzers' seed corpora into fuzz/corpus/ (committed; rerun after a
format change). The model files are written here by an independent reading
of docs/model-format.md, which the tests also cross-check. NumPy (Debian's
python3-numpy) makes the .npz seeds when present."""
import gzip, io, os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ALIGN = 64


def image(sections):
    """sections: list of (tag, dtype, bytes)."""
    n = len(sections)
    at = 32 + 32 * n
    table, body = b"", b""
    for tag, dtype, data in sections:
        off = (at + ALIGN - 1) // ALIGN * ALIGN
        body += b"\0" * (off - at) + data
        table += struct.pack("<4sIQQII", tag, dtype, off, len(data), zlib.crc32(data), 0)
        at = off + len(data)
    head = struct.pack("<4sHHIIQI", b"MOTE", 2, n, 0x01020304, zlib.crc32(table), at, 0)
    head += struct.pack("<I", zlib.crc32(head))
    return head + table + body


def layers(inp, rows):
    """rows: (kind, act, tie, in, out)."""
    b = struct.pack("<II", inp, len(rows))
    for kind, act, tie, i, o in rows:
        floats = o + (i * o if kind == 0 else 0)
        b += struct.pack("<BBBBIII", kind, act, 0xFF if tie < 0 else tie, 0, i, o, floats)
    return b


def params(rows):
    n = sum(o + (i * o if k == 0 else 0) for k, _, _, i, o in rows)
    return struct.pack("<%df" % n, *[((j * 37) % 11 - 5) / 10.0 for j in range(n)])


def write(folder, name, data):
    d = os.path.join(HERE, "corpus", folder)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def model_seeds():
    tied = [(0, 1, -1, 6, 4), (0, 1, -1, 4, 2), (1, 1, 1, 2, 4), (1, 2, 0, 4, 6)]
    stacked = [(0, 1, -1, 5, 3), (0, 2, -1, 3, 5)]
    write("model_file", "tied.mote", image([(b"LAYR", 0, layers(6, tied)), (b"PARM", 1, params(tied))]))
    write("model_file", "stacked.mote", image([(b"LAYR", 0, layers(5, stacked)), (b"PARM", 1, params(stacked))]))
    state = struct.pack("<I16sQIIIIfffffIIQQQQdQ", 1, b"tied", 42, 2, 0, 0, 0, 1.5, 0.9, 0.9, 0.999, 1e-7,
                        0, 1, 3, 7, 0x853C49E6748FEA9B, 0xDA3E39CB94B95BDB, 1.25, 6)
    state += b"\0" * (160 - len(state))
    hist = struct.pack("<3d", 0.5, 0.45, 0.8)
    write("model_file", "tied.ckpt", image([(b"LAYR", 0, layers(6, tied)), (b"PARM", 1, params(tied)),
                                            (b"TRNS", 0, state), (b"OPTS", 1, b""), (b"HIST", 2, hist)]))
    # A greedy run in its second stage: AE2 (4-2-4) trains on the codings of
    # AE1 (6-4-6), which rides along in PLYR/PPRM; TRNS flags (offset 116) = 1:
    # --lr fixed the rate of every stage.
    ae1 = [(0, 1, -1, 6, 4), (0, 2, -1, 4, 6)]
    ae2 = [(0, 1, -1, 4, 2), (0, 1, -1, 2, 4)]
    state = struct.pack("<I16sQIIIIfffffIIQQQQdQI", 1, b"greedy", 42, 2, 0, 1, 0, 0.05, 0.9, 0.9, 0.999, 1e-7,
                        1, 1, 2, 5, 0x853C49E6748FEA9B, 0xDA3E39CB94B95BDB, 0.75, 4, 1)
    state += b"\0" * (160 - len(state))
    write("model_file", "greedy.ckpt", image([(b"LAYR", 0, layers(4, ae2)), (b"PARM", 1, params(ae2)),
                                              (b"TRNS", 0, state), (b"OPTS", 1, b""),
                                              (b"HIST", 2, struct.pack("<3d", 0.3, 0.28, 0.6)),
                                              (b"PLYR", 0, layers(6, ae1)), (b"PPRM", 1, params(ae1))]))


def npz_seeds():
    try:
        import numpy as np
    except ImportError:
        print("make_corpus: no numpy, skipping the .npz seeds")
        return
    ws = [np.arange(12, dtype=np.float32).reshape(3, 4) / 7, np.zeros(4, np.float32),
          np.ones((4, 3), np.float32), np.full(3, 0.5, np.float32)]
    for name, fn in (("stored.npz", np.savez), ("deflated.npz", np.savez_compressed)):
        b = io.BytesIO()
        fn(b, *ws)
        write("npz", name, b.getvalue())
    b = io.BytesIO()
    np.savez(b, kernel=np.asfortranarray(ws[0].astype(">f8")), bias=ws[1])
    write("npz", "named_f64_fortran.npz", b.getvalue())
    for name, arr in (("f4.npy", ws[0]), ("f8_be.npy", ws[0].astype(">f8")), ("scalar.npy", np.float32(2.5)),
                      ("fortran.npy", np.asfortranarray(ws[2]))):
        b = io.BytesIO()
        np.save(b, arr)
        write("npz", name, b.getvalue())
    b = io.BytesIO()
    np.lib.format.write_array(b, ws[1], version=(2, 0))
    write("npz", "v2.npy", b.getvalue())


def idx_seeds():
    write("idx", "two_3x2.idx", struct.pack(">IIII", 0x803, 2, 3, 2) + bytes(range(12)))
    write("idx", "one_1x1.idx", struct.pack(">IIII", 0x803, 1, 1, 1) + b"\xff")
    write("idx", "truncated.idx", struct.pack(">IIII", 0x803, 4, 2, 2) + bytes(5))


if __name__ == "__main__":
    model_seeds()
    npz_seeds()
    idx_seeds()
