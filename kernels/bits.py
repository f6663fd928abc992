"""A double's bit pattern, for compiled kernels that must test a value without
arithmetic on it.

``bits(x)`` is the IEEE 754 binary64 pattern of ``x`` as an int64 (LLVM's ``bitcast``). For
x >= 0 it orders as x does, and a subnormal x = m·2^-1074 has the pattern m: a test on it
takes no floating-point operation, where a product with a subnormal operand costs the
processor a microcode assist (~150 cycles). Usable only inside Numba kernels.
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def bits(typingctx, x):
    """The bit pattern (int64) of the float64 ``x``."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(x), codegen
