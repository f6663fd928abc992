"""Software prefetch for the compiled kernels: start bringing a cache line in, without
waiting for it.

``prefetch_read(a, i)`` / ``prefetch_write(a, i)`` ask the processor for the cache line
holding ``a[i]`` (for a 2-D array, the start of row ``i``), to be read / written soon.
Neither changes memory nor ever faults, so a kernel stays correct whatever it prefetches;
they only pay where the accesses are scattered over more memory than the caches and the
address translation cover (``benchmarks/bandwidth.py --footprint``), and where the kernel
knows the addresses early: the next synapses' targets. Usable only inside Numba kernels
(they lower to LLVM's ``llvm.prefetch``).
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I32 = ir.IntType(32)
_BYTE_POINTER = ir.IntType(8).as_pointer()


def _prefetch(for_write):
    """The intrinsic for one access kind (LLVM: rw 0 read, 1 write; locality 3, keep in
    all cache levels; cache type 1, data)."""
    def prefetch(typingctx, array, index):
        def codegen(context, builder, signature, args):
            array_type = signature.args[0]
            arr = context.make_array(array_type)(context, builder, args[0])
            zero = context.get_constant(types.intp, 0)
            indices = [args[1]] + [zero] * (array_type.ndim - 1)
            address = cgutils.get_item_pointer(context, builder, array_type, arr, indices)
            fnty = ir.FunctionType(ir.VoidType(), [_BYTE_POINTER, _I32, _I32, _I32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
            builder.call(fn, [builder.bitcast(address, _BYTE_POINTER), _I32(int(for_write)),
                              _I32(3), _I32(1)])
            return context.get_dummy_value()
        if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
            return None
        return types.void(array, index), codegen
    prefetch.__name__ = prefetch.__qualname__ = "prefetch_write" if for_write else "prefetch_read"
    return intrinsic(prefetch)


prefetch_read = _prefetch(False)
prefetch_write = _prefetch(True)
