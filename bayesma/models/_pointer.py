"""A numba intrinsic that turns an integer address into a ``void*`` (for the nutpie callbacks).

Kept in its own module (imported only by :mod:`bayesma.models.compile`, after numba) so that
cached callbacks find it by a stable import path.
"""

from __future__ import annotations

from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["as_pointer"]


@intrinsic
def as_pointer(typingctx, address):
    """``void*`` of the integer *address* (inside numba-compiled code only)."""
    sig = types.voidptr(address)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen
