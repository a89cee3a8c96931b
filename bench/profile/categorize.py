"""Splits `perf script` call stacks of `itsor serve` into where the time goes.

Reads `perf script` output (with call graphs) on stdin; prints the share of samples per
category, and the host calls the guest spends most in. Categories are decided on the
whole stack, first match wins, so each sample counts once.
"""

import collections
import re
import sys

# (category, pattern matched against the whole stack), in order of precedence.
CATEGORIES = [
    ("guest: host calls (component-model imports)", r"lower-import\["),
    ("guest: resource drops", r"resource_drop_trampoline|resource-drop"),
    ("guest: its own code and the wasm runtime", r"Func::call_raw|fiber_start"),
    ("store drop (memory reset, instance free)", r"drop_in_place<wasmtime::runtime::store"),
    ("instantiation", r"[Ii]nstantiat"),
    ("store and WASI context creation", r"RequestState::new|Store<T>>::new|StoreInner"),
    # Instantiation inlined into the host's request path (slot allocation, module
    # registration, trampolines), which leaves no `instantiate` frame on the stack.
    ("instantiation, inlined into the request path", r"App::run_guest"),
    ("hyper write + kernel TCP send (waking the client)", r"writev|poll_write|poll_flush"),
    ("hyper read + head parse", r"recv|poll_read|parse"),
    ("Tokio park, epoll", r"park|epoll"),
    ("kernel scheduling, IRQs", r"schedule|irq|ipi"),
]

# Host functions behind the imports, to name them.
HOST_FUNCTIONS = [
    ("fermyon:spin/variables get", r"VariablesHost"),
    ("spin:sqlite execute/open", r"SqliteHost"),
    ("wasi:io streams", r"wasmtime_wasi_io::streams"),
    ("wasi:http types", r"wasmtime_wasi_http"),
    ("resource handles", r"HostResource"),
]


def stacks(lines):
    frames = []
    for line in lines:
        if not line.strip():
            if frames:
                yield " | ".join(frames)
            frames = []
        elif line[0] in " \t":
            parts = line.split(None, 1)
            if len(parts) == 2:
                frames.append(re.sub(r"\+0x[0-9a-f]+|\s\([^)]*\)$", "", parts[1].strip()))
    if frames:
        yield " | ".join(frames)


def main():
    title = sys.argv[1] if len(sys.argv) > 1 else "requests"
    categories = collections.Counter()
    # Samples per import index, and the host functions seen under each: most samples of an
    # import are spent lowering and lifting, with no host function on the stack, so an
    # import is named after the host function seen most often under it.
    imports = collections.Counter()
    seen = collections.defaultdict(collections.Counter)
    total = 0
    for stack in stacks(sys.stdin):
        total += 1
        name = next((c for c, p in CATEGORIES if re.search(p, stack)), "other")
        categories[name] += 1
        if name.startswith("guest: host calls"):
            callee, _, rest = stack.partition("lower-import[")
            index = rest.split("]", 1)[0]
            imports[index] += 1
            for function, pattern in HOST_FUNCTIONS:
                if re.search(pattern, callee):
                    seen[index][function] += 1
                    break
    if not total:
        sys.exit("categorize: no samples")
    print(f"\n{title}: {total} samples\n\n| where | share |\n|---|---:|")
    for name, n in categories.most_common():
        print(f"| {name} | {100 * n / total:.1f} % |")
    print("\n| host calls, by host function | share of all samples |\n|---|---:|")
    host = collections.Counter()
    for index, n in imports.items():
        named = seen[index].most_common(1)
        host[named[0][0] if named else "unnamed imports"] += n
    for name, n in host.most_common():
        print(f"| {name} | {100 * n / total:.1f} % |")


if __name__ == "__main__":
    main()
