"""Keep freed batch-sized buffers from piling up in the resident set (glibc only).

A dump allocates tens of MB per batch (the layer's output, its float16 copy) between small
long-lived objects; glibc serves buffers under its dynamic mmap threshold (up to 32 MB) from
the heap, whose freed holes then stay resident. Serving every allocation over 1 MiB with its
own mapping returns it to the system on free; in a forward-only dump the cost (a page fault
per fresh page) is lost in the matrix products that fill those buffers. Only the dumps set
it: in a training step the page faults cost more than a third of the step (measurements:
docs/performance.md, "Allocator setting").
"""
import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3
_applied = False


def return_large_frees_to_the_system(threshold_bytes=1 << 20):
    """mallopt(M_MMAP_THRESHOLD, threshold); True if glibc took it. Idempotent."""
    global _applied
    if _applied:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _applied = bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold_bytes)))
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        _applied = False
    return _applied
