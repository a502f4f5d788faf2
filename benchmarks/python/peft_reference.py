#!/usr/bin/python3
"""Python side of peft4j's side-by-side benchmarks (BENCHMARKS.md, ``./bench.sh --python``).

The same work the JVM benchmarks time, done the way a PEFT user's Python does it: torch modules, LoRA as PEFT 0.20's
``lora.Linear`` computes it (``result + lora_B(lora_A(dropout(x))) * scaling``, with PEFT's ModuleDict look-ups,
active-adapter loop and dtype handling), base parameters frozen as ``mark_only_lora_as_trainable`` does, and
``torch.optim.Adam``. PEFT itself is not needed (it is not in Debian); ``verify`` checks this module against the
golden outputs PEFT 0.20.0 produced (``core/src/test/resources/golden``).

Cases (one per process, like one JMH fork):
  w1-unmerged  4-layer MLP, Linear(1024) x4 with ReLU between, batch 64, LoRA r=8 alpha=16 on all four, inference
  w1-merged    the same after PEFT's merge (forward = base layer only)
  w2-lora      one training step (zero_grad, forward, L2 loss, backward, Adam lr 1e-4) of w1's model, LoRA only
  w2-full      the same with every weight and bias trainable (no LoRA)
  w3-lora      PEFT's test DummyModel (Embedding(10,10) -> Linear(10,10) -> Linear(10,10)), LoRA r=64 alpha=16
               dropout 0.1 on "linear" as in the golden case a_lora_dummy, int64 ids [1, 8], inference
  w3-base      the same model without LoRA

Inference runs in eval mode under torch.no_grad() (what transformers' generate uses); the JVM side runs outside
any GradientCollector (grad mode off). Timing is JMH's sample mode: every call timed, warm-up first, the median (p50)
of all measured calls reported.

Usage (the runner starts it with /usr/bin/python3, OMP_NUM_THREADS=N and OMP_WAIT_POLICY=PASSIVE):
  peft_reference.py CASE --threads N [--warmup S] [--iterations N] [--iteration-time S]
      prints  PY_RESULT case=... threads=... p50_us=... samples=... mean_us=...
  peft_reference.py info --threads N      torch version, threads and the BLAS actually loaded: PY_INFO key=value ...
  peft_reference.py verify GOLDEN_DIR     compares against a_lora_dummy: PY_VERIFY ... ok=true|false
  peft_reference.py gemm --threads 1       the W2 step's GEMMs alone (as io.peft4j.bench.GemmProbe on the JVM)
  peft_reference.py profile-w2-lora|profile-w2-full --threads 1 [--steps N]
                                          a W2 step's phases in CPU time (as io.peft4j.bench.TrainProfile)
"""

import argparse
import json
import math
import os
import resource
import struct
import sys
import time

try:
    import torch
    from torch import nn
except ImportError:  # the runner and bench.sh print how to install it
    print("PY_ERROR torch is not importable by " + sys.executable + ": install Debian's python3-torch "
          "(apt-get install python3-torch libopenblas0-openmp)", file=sys.stderr)
    sys.exit(3)

WIDTH = 1024
BATCH = 64
LAYERS = 4
RANK = 8
ALPHA = 16
SEED = 20240601


# ------------------------------------------------------------------------------------------------- PEFT's lora.Linear

class LoraLinear(nn.Module):
    """PEFT 0.20's ``lora.Linear`` (src/peft/tuners/lora/layer.py) for one plain adapter, no variants (DoRA etc.).

    Same submodules (``base_layer``, ``lora_A``/``lora_B``/``lora_dropout`` ModuleDicts of ``nn.Linear`` without bias
    and ``nn.Dropout``/``nn.Identity``), same initialisation (A: kaiming_uniform(a=sqrt(5)), B: zeros) and the same
    forward, line by line, so the Python per-call overhead is PEFT's.
    """

    def __init__(self, base_layer, adapter_name, r, lora_alpha, lora_dropout):
        super().__init__()
        self.base_layer = base_layer
        self.lora_A = nn.ModuleDict()
        self.lora_B = nn.ModuleDict()
        self.lora_dropout = nn.ModuleDict()
        self.scaling = {}
        self.lora_variant = {}
        self.merged_adapters = []
        self._disable_adapters = False
        self._active_adapter = adapter_name
        self.lora_dropout[adapter_name] = nn.Dropout(p=lora_dropout) if lora_dropout > 0.0 else nn.Identity()
        self.lora_A[adapter_name] = nn.Linear(base_layer.in_features, r, bias=False)
        self.lora_B[adapter_name] = nn.Linear(r, base_layer.out_features, bias=False)
        self.scaling[adapter_name] = lora_alpha / r
        nn.init.kaiming_uniform_(self.lora_A[adapter_name].weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B[adapter_name].weight)

    @property
    def merged(self):
        return bool(self.merged_adapters)

    @property
    def disable_adapters(self):
        return self._disable_adapters

    @property
    def active_adapters(self):
        if isinstance(self._active_adapter, str):
            return [self._active_adapter]
        return self._active_adapter

    def _check_forward_args(self, x, *args, **kwargs):
        adapter_names = kwargs.get("adapter_names", None)
        if adapter_names is None:
            return
        raise ValueError("mixed adapter batches are not part of this benchmark")

    def _cast_input_dtype(self, x, dtype):
        if x is None:
            return None
        cast_input_dtype_enabled = getattr(self, "cast_input_dtype_enabled", True)
        if (not cast_input_dtype_enabled) or (x.dtype == dtype):
            return x
        return x.to(dtype=dtype)

    def get_delta_weight(self, adapter):
        return (self.lora_B[adapter].weight @ self.lora_A[adapter].weight) * self.scaling[adapter]

    def merge(self):
        for adapter in self.active_adapters:
            self.base_layer.weight.data += self.get_delta_weight(adapter)
            self.merged_adapters.append(adapter)

    def forward(self, x, *args, **kwargs):
        self._check_forward_args(x, *args, **kwargs)
        adapter_names = kwargs.pop("adapter_names", None)
        variant_kwargs = {k: kwargs.pop(k, None) for k in ["alora_offsets"]}  # noqa: F841 (as PEFT)

        if self.disable_adapters:
            result = self.base_layer(x, *args, **kwargs)
        elif adapter_names is not None:
            raise ValueError("mixed adapter batches are not part of this benchmark")
        elif self.merged:
            result = self.base_layer(x, *args, **kwargs)
        else:
            result = self.base_layer(x, *args, **kwargs)
            torch_result_dtype = result.dtype

            lora_A_keys = self.lora_A.keys()
            for active_adapter in self.active_adapters:
                if active_adapter not in lora_A_keys:
                    continue

                lora_A = self.lora_A[active_adapter]
                lora_B = self.lora_B[active_adapter]
                dropout = self.lora_dropout[active_adapter]
                scaling = self.scaling[active_adapter]
                x = self._cast_input_dtype(x, lora_A.weight.dtype)
                if active_adapter not in self.lora_variant:  # vanilla LoRA
                    result = result + lora_B(lora_A(dropout(x))) * scaling
                else:
                    raise ValueError("LoRA variants are not part of this benchmark")

            result = result.to(torch_result_dtype)

        return result


def inject(model, targets, r, lora_alpha, lora_dropout, adapter_name="default"):
    """PEFT's inject_adapter_in_model for nn.Linear targets (exact name or dotted suffix), then
    mark_only_lora_as_trainable with bias="none"."""
    for name, module in list(model.named_modules()):
        if not any(name == t or name.endswith("." + t) for t in targets):
            continue
        if not isinstance(module, nn.Linear):
            raise ValueError("target " + name + " is not an nn.Linear")
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoraLinear(module, adapter_name, r, lora_alpha, lora_dropout))
    for name, p in model.named_parameters():
        p.requires_grad = "lora_" in name
    return model


# ------------------------------------------------------------------------------------------------------- models

def mlp(width):
    """Linear(width) -> ReLU -> ... -> Linear(width): the JVM's Models.mlp (Linear layers at 0, 2, 4, 6)."""
    layers = []
    for i in range(LAYERS):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(width, width))
    return nn.Sequential(*layers)


class DummyModel(nn.Module):
    """PEFT's test DummyModel (tests/test_low_level_api.py), the model of the golden case a_lora_dummy."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10, 10)
        self.linear = nn.Linear(10, 10)
        self.lm_head = nn.Linear(10, 10)

    def forward(self, input_ids):
        x = self.embedding(input_ids)
        x = self.linear(x)
        x = self.lm_head(x)
        return x


MLP_TARGETS = [str(i) for i in range(0, 2 * LAYERS, 2)]


def uniform(*shape):
    return torch.rand(*shape) * 2 - 1


def check(condition, what):
    if not condition:
        raise SystemExit("PY_ERROR benchmark set-up check failed: " + what)


def inference_case(model, x):
    model.eval()
    torch.set_grad_enabled(False)

    def call():
        return model(x)

    out = call()
    check(out.grad_fn is None and not out.requires_grad, "inference records no autograd graph")
    return call


def lora_mlp():
    return inject(mlp(WIDTH), MLP_TARGETS, RANK, ALPHA, 0.0)


def w1_unmerged():
    model = lora_mlp()
    check(sum(isinstance(m, LoraLinear) for m in model.modules()) == LAYERS, "LoRA on the 4 Linear layers")
    return inference_case(model, uniform(BATCH, WIDTH))


def w1_merged():
    model = lora_mlp()
    for m in model.modules():
        if isinstance(m, LoraLinear):
            m.merge()
    check(sum(isinstance(m, LoraLinear) and m.merged for m in model.modules()) == LAYERS, "4 layers merged")
    return inference_case(model, uniform(BATCH, WIDTH))


PHASES = ["zero_grad", "forward", "loss", "backward", "optimizer step"]


def training_case(lora, phases=None, clock=time.perf_counter_ns):
    """W2: one step = zero_grad(set_to_none=True), forward, DJL's L2 loss, backward, Adam. With ``phases`` (a list
    of len(PHASES) ints), each step adds its phases' nanoseconds on ``clock``."""
    model = lora_mlp() if lora else mlp(WIDTH)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    expected = LAYERS * RANK * 2 * WIDTH if lora else LAYERS * WIDTH * (WIDTH + 1)
    check(sum(p.numel() for p in trainable) == expected, "trainable parameters " + str(expected))
    optimizer = torch.optim.Adam(trainable, lr=1e-4)
    x = uniform(BATCH, WIDTH)
    y = uniform(BATCH, WIDTH)

    def call():
        optimizer.zero_grad(set_to_none=True)
        prediction = model(x)
        loss = (y - prediction).square().mul(0.5).mean()  # DJL's L2Loss
        loss.backward()
        optimizer.step()
        return loss

    def timed():
        t0 = clock()
        optimizer.zero_grad(set_to_none=True)
        t1 = clock()
        prediction = model(x)
        t2 = clock()
        loss = (y - prediction).square().mul(0.5).mean()
        t3 = clock()
        loss.backward()
        t4 = clock()
        optimizer.step()
        t5 = clock()
        for i, d in enumerate((t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            phases[i] += d
        return loss

    base_before = model[0].base_layer.weight.clone() if lora else None
    call()
    if lora:
        check(torch.equal(model[0].base_layer.weight, base_before), "base weights frozen")
        check(model[0].base_layer.weight.grad is None, "no gradient on frozen base weights")
        check(model[0].lora_B["default"].weight.abs().sum().item() > 0, "LoRA B trained")
    return call if phases is None else timed


def profile(case, steps):
    """The phases of a W2 step in CPU time of this thread (all of torch's work with one thread), like
    io.peft4j.bench.TrainProfile on the JVM; and minor page faults per step."""
    phases = [0] * len(PHASES)
    step = training_case(case == "w2-lora", phases, time.thread_time_ns)
    for _ in range(max(20, steps // 4)):
        step()
    for i in range(len(phases)):
        phases[i] = 0
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    begin = time.thread_time_ns()
    for _ in range(steps):
        step()
    total = (time.thread_time_ns() - begin) / 1e6 / steps
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print("%s step: %.3f ms CPU time of this thread (mean of %d), minor page faults %.1f per step"
          % (case, total, steps, faults / steps))
    for name, ns in zip(PHASES, phases):
        print("  %-28s %8.3f ms" % (name, ns / 1e6 / steps))


def w3(lora):
    model = DummyModel()
    if lora:
        inject(model, ["linear"], 64, 16, 0.1)
        check(isinstance(model.linear, LoraLinear), "LoRA on linear")
    return inference_case(model, torch.randint(0, 10, (1, 8), dtype=torch.int64))


CASES = {
    "w1-unmerged": w1_unmerged,
    "w1-merged": w1_merged,
    "w2-lora": lambda: training_case(True),
    "w2-full": lambda: training_case(False),
    "w3-lora": lambda: w3(True),
    "w3-base": lambda: w3(False),
}


# ------------------------------------------------------------------------------------------------------ timing

def measure(call, warmup, iterations, iteration_time):
    """JMH sample mode: warm up for ``warmup`` s, then time every call for ``iterations`` x ``iteration_time`` s.
    Returns the median and mean µs per call, the number of calls and the minor page faults per call (glibc returning
    freed tensor memory to the kernel and faulting it back in shows up here)."""
    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        call()
    samples = []
    clock = time.perf_counter_ns
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(iterations):
        end = clock() + int(iteration_time * 1e9)
        while True:
            t0 = clock()
            call()
            t1 = clock()
            samples.append(t1 - t0)
            if t1 >= end:
                break
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    samples.sort()
    n = len(samples)
    p50 = samples[n // 2] if n % 2 else (samples[n // 2 - 1] + samples[n // 2]) / 2
    return p50 / 1000.0, n, sum(samples) / n / 1000.0, faults / n


def set_threads(threads):
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    check(torch.get_num_threads() == threads, "torch.get_num_threads() == " + str(threads))


def token(value):
    return str(value).replace(" ", "_") if str(value) else "-"


def info(threads):
    set_threads(threads)
    torch.ones(64, 64) @ torch.ones(64, 64)  # load the BLAS
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps if ".so" in line
                       and any(k in line for k in ("blas", "mkl", "gomp", "iomp", "lapack"))})
    config = torch.__config__.show()
    blas_info = next((part.split("=", 1)[1] for part in config.replace(",", " ").split()
                      if part.startswith("BLAS_INFO=")), "?")
    backend = next((line.split(":", 1)[1].strip() for line in torch.__config__.parallel_info().splitlines()
                    if line.startswith("ATen parallel backend")), "?")
    names = [os.path.basename(lib) for lib in libs]
    blas = next((n for n in names if "openblas" in n or "mkl" in n), next((n for n in names if "blas" in n), "?"))
    if blas == "libblas.so.3":
        blas += "(reference-BLAS)"
    fields = {
        "python": sys.executable + "-" + ".".join(map(str, sys.version_info[:3])),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop": torch.get_num_interop_threads(),
        "blas": blas,
        "blas_info": blas_info,
        "parallel": backend,
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset"),
        "libs": ",".join(libs),
    }
    print("PY_INFO " + " ".join(k + "=" + token(v) for k, v in fields.items()))


# --------------------------------------------------------------------------------------------- golden check

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = bytearray(data[8 + n + begin:8 + n + end])
        tensors[name] = torch.frombuffer(raw, dtype=dtypes[entry["dtype"]]).reshape(entry["shape"]).clone()
    return tensors


def verify(golden):
    """This module's LoRA against PEFT 0.20.0's outputs on DummyModel (golden case a_lora_dummy), adapter active
    and merged: proof that the Python side computes what PEFT computes."""
    case = os.path.join(golden, "a_lora_dummy")
    config = json.load(open(os.path.join(case, "adapter_config.json")))
    model = DummyModel()
    model.load_state_dict(read_safetensors(os.path.join(case, "base_model.safetensors")))
    inject(model, config["target_modules"], config["r"], config["lora_alpha"], config["lora_dropout"])
    adapter = read_safetensors(os.path.join(case, "adapter_model.safetensors"))
    with torch.no_grad():
        model.linear.lora_A["default"].weight.copy_(adapter["linear.lora_A.weight"])
        model.linear.lora_B["default"].weight.copy_(adapter["linear.lora_B.weight"])
    model.eval()
    ids = read_safetensors(os.path.join(case, "input.safetensors"))["input"]
    with torch.no_grad():
        active = (model(ids) - read_safetensors(os.path.join(case, "expected_output.safetensors"))["output"]).abs().max().item()
        model.linear.merge()
        merged = (model(ids) - read_safetensors(os.path.join(case, "expected_output_merged.safetensors"))["output"]).abs().max().item()
    ok = active <= 1e-5 and merged <= 1e-5
    print("PY_VERIFY case=a_lora_dummy max_abs_diff=%.3g merged_max_abs_diff=%.3g ok=%s"
          % (active, merged, "true" if ok else "false"))
    return 0 if ok else 1


def gemm(calls=200):
    """The GEMMs of one W2 step alone, as io.peft4j.bench.GemmProbe times them on the JVM (same labels)."""
    x = uniform(BATCH, WIDTH)
    w = uniform(WIDTH, WIDTH)
    bias = uniform(WIDTH)
    a = uniform(RANK, WIDTH)
    b = uniform(WIDTH, RANK)
    h = uniform(BATCH, RANK)
    linear = nn.functional.linear
    ops = [
        ("linear(x, W, b)   [64,1024]x[1024,1024]^T+b", lambda: linear(x, w, bias)),
        ("g.matMul(W)       [64,1024]x[1024,1024]", lambda: x @ w),
        ("gT.matMul(x)      [1024,64]x[64,1024] (dW)", lambda: x.t() @ x),
        ("linear(x, A)      [64,1024]x[8,1024]^T", lambda: linear(x, a)),
        ("linear(h, B)      [64,8]x[1024,8]^T", lambda: linear(h, b)),
        ("g.matMul(B)       [64,1024]x[1024,8]", lambda: x @ b),
        ("gT.matMul(x) dA   [8,64]x[64,1024]", lambda: h.t() @ x),
        ("relu              [64,1024]", lambda: torch.relu(x)),
    ]
    with torch.no_grad():
        for what, op in ops:
            for _ in range(calls):
                op()
            samples = []
            for _ in range(calls):
                t0 = time.perf_counter_ns()
                op()
                samples.append(time.perf_counter_ns() - t0)
            samples.sort()
            print("GEMM %-46s %9.1f µs" % (what, samples[calls // 2] / 1e3))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=sorted(CASES) + ["info", "verify", "gemm", "profile-w2-lora",
                                                            "profile-w2-full"])
    parser.add_argument("golden", nargs="?", help="verify: the golden directory (holds a_lora_dummy/)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (inter-op: 1)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds")
    parser.add_argument("--iterations", type=int, default=3, help="measured iterations")
    parser.add_argument("--iteration-time", type=float, default=1.0, help="seconds per measured iteration")
    parser.add_argument("--steps", type=int, default=200, help="profile-*: steps timed")
    args = parser.parse_args(argv)
    if args.case == "info":
        info(args.threads)
        return 0
    if args.case == "verify":
        if not args.golden:
            parser.error("verify needs the golden directory")
        return verify(args.golden)
    set_threads(args.threads)
    torch.manual_seed(SEED)
    if args.case == "gemm":
        gemm()
        return 0
    if args.case.startswith("profile-"):
        profile(args.case[len("profile-"):], args.steps)
        return 0
    call = CASES[args.case]()
    p50, n, mean, faults = measure(call, args.warmup, args.iterations, args.iteration_time)
    print("PY_RESULT case=%s threads=%d p50_us=%.3f samples=%d mean_us=%.3f minor_faults_per_call=%.1f"
          % (args.case, torch.get_num_threads(), p50, n, mean, faults))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
