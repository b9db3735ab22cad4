"""Which number format a run computes in: the one hardware check behind every 'auto' precision.

bfloat16 only pays where the hardware computes it natively; emulated, it is slower than float32.
"""
import os

import torch

#: oneDNN's instruction-set caps (ONEDNN_MAX_CPU_ISA) below which bfloat16 is emulated
ISAS_WITHOUT_BFLOAT16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}
#: ATen's CPU capabilities (ATEN_CPU_CAPABILITY) that have no bfloat16 instructions
ATEN_WITHOUT_BFLOAT16 = {"DEFAULT", "AVX2", "ZVECTOR", "VSX"}


def instructions_capped_below_bfloat16(environ=None):
    """The oneDNN or ATen instruction cap that rules bfloat16 out, or None: a user who caps the
    instructions (``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``, as on an AVX2-only CPU)
    gets float32 from every 'auto', whatever the CPU itself has."""
    environ = os.environ if environ is None else environ
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        if environ.get(name, "").strip().upper() in ISAS_WITHOUT_BFLOAT16:
            return f"{name}={environ[name]}"
    if environ.get("ATEN_CPU_CAPABILITY", "").strip().upper() in ATEN_WITHOUT_BFLOAT16:
        return f"ATEN_CPU_CAPABILITY={environ['ATEN_CPU_CAPABILITY']}"
    return None


def native_bfloat16(device):
    """Whether ``device`` computes bfloat16 natively (CPUs with AVX512-BF16 or AMX whose use no
    instruction cap forbids, GPUs that report bf16 support)."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if instructions_capped_below_bfloat16():
        return False
    # not mkldnn's bf16 check alone: it says yes on any AVX-512 CPU, where oneDNN emulates bfloat16
    # (a training step 3.5x slower than float32 on an AVX-512 CPU without AVX512-BF16); it does
    # honour a cap, so it must agree too
    try:
        flags = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        return bool(flags and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(name, device):
    """'auto' -> bfloat16 where the hardware computes it natively, else float32: emulated
    bfloat16 would be slower."""
    if name != "auto":
        return name
    return "bfloat16" if native_bfloat16(device) else "float32"
