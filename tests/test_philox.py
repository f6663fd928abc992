"""Philox4x32-10 against the known-answer vectors of Random123 (Salmon et al. 2011)."""
import numpy as np
import pytest

from bigbrain.kernels.philox import philox4x32, philox4x32_jit, uniform

KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_known_answers_numpy_and_numba(counter, key, expected):
    u64 = np.uint64
    vec = philox4x32(*(np.array([c], np.uint64) for c in counter), u64(key[0]), u64(key[1]))
    assert tuple(int(w[0]) for w in vec) == expected
    jit = philox4x32_jit(*(u64(c) for c in counter), u64(key[0]), u64(key[1]))
    assert tuple(int(w) for w in jit) == expected


def test_uniform_is_a_pure_function_of_its_counter():
    ids = np.arange(1000)
    a = uniform(42, 1, 0, ids, 7)
    b = uniform(42, 1, 0, ids[::-1], 7)[::-1]          # another order, same values
    assert np.array_equal(a, b)
    assert not np.array_equal(a, uniform(43, 1, 0, ids, 7))
    assert not np.array_equal(a, uniform(42, 2, 0, ids, 7))
    assert 0.0 <= a.min() and a.max() < 1.0
    big = uniform(1, 1, 0, np.arange(200_000), 0)
    assert abs(big.mean() - 0.5) < 0.005 and abs(big.var() - 1 / 12) < 0.002


def test_compiled_uniform_equals_the_vectorised_formula():
    from bigbrain.kernels.philox import key_words, purpose_word, uniform53
    ids, index = np.arange(5000, dtype=np.uint64), np.uint64(17)
    k0, k1 = key_words(2**40 + 5)
    c2 = np.full(ids.shape, purpose_word(3, 9), np.uint64)
    w0, w1, _, _ = philox4x32(np.full(ids.shape, index), ids, c2, np.full(ids.shape, np.uint64(4)), k0, k1)
    assert np.array_equal(uniform(2**40 + 5, 3, 9, ids, index, 4), uniform53(w0, w1))
