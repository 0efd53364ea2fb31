#!/usr/bin/env python3
"""Writes the .npy fixtures the tests read, with NumPy's own np.save (Debian's python3-numpy).

Run from this folder: python3 make_fixtures.py. The values follow simple formulas that
tests/unit/test_npy.cpp recomputes, so the files and the test can be checked against each other.
"""
import numpy as np

np.save("f32_2x3.npy", np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5)
np.save("f64_4.npy", np.array([1.0, -2.5, 3.25, 1e-300], dtype=np.float64))
np.save("i64_3x1x2.npy", (np.arange(6, dtype=np.int64) - 3).reshape(3, 1, 2) * 10**12)
np.save("u8_2x2x3.npy", np.arange(12, dtype=np.uint8).reshape(2, 2, 3) * 20)
np.save("f32_fortran_2x3.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.save("f32_scalar.npy", np.float32(7.5))
np.save("f32_empty_0x4.npy", np.zeros((0, 4), dtype=np.float32))
with open("f32_v2_3.npy", "wb") as f:
    np.lib.format.write_array(f, np.array([1, 2, 3], dtype=np.float32), version=(2, 0))
