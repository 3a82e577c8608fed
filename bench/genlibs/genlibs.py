#!/usr/bin/python3
"""genlibs — write a library-heavy Python workload (in the spirit of LLNL's Pynamic,
written from scratch): K C shared libraries (FUNCS functions of BODY statements each,
some calling into the libraries they link), M C extension modules linked to those
libraries, P pure-Python modules in packages that import each other and the extensions,
and driver.py, which imports everything, calls into it and prints a checksum.

  genlibs.py --out DIR --gen DIR [-K 8] [-M 8] [-P 2M] [--funcs 800] [--body 10]

Writes sources and a Makefile into --gen (then: make -C GEN -jN); the runnable tree is
--out: lib/, ext/, py/ (with __pycache__), driver.py. Only files whose text changed are
rewritten, so make rebuilds only what changed; other parameters wipe both folders first.
Everything is derived from --seed: the same parameters always give the same bytes.
"""
import argparse, json, os, random, shutil, sys, sysconfig

M32 = 0xFFFFFFFF


def put(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w") as f:
        f.write(text)


def c_body(rnd, n):
    """n C statements mixing x, each a few instructions."""
    forms = ["x = x * {a}u + {b}u;", "x ^= x >> {s};", "x = (x << {s}) | (x >> (32 - {s}));",
             "x += {a}u ^ (x >> {s});", "x = (x ^ {a}u) * 0x01000193u;"]
    return " ".join(rnd.choice(forms).format(a=rnd.getrandbits(32) | 1, b=rnd.getrandbits(16),
                                             s=rnd.randint(1, 31)) for _ in range(n))


def lib_deps(i, ndeps, seed):
    """Libraries (all of lower index) that library i links and calls."""
    return sorted(random.Random(seed * 7919 + i).sample(range(i), min(i, ndeps)))


def gen_lib(i, a):
    rnd = random.Random(a.seed * 1000003 + i)
    deps = lib_deps(i, a.deps, a.seed)
    leaves = [j for j in range(a.funcs) if j % 4 != 1]   # functions that call nothing
    out = [f"/* genlibs: library gl{i:04d} of {a.K}, links {deps} */", "#include <stdint.h>"]
    calls = {}
    for j in range(1, a.funcs, 4):
        if deps:
            calls[j] = f"gl{rnd.choice(deps):04d}_f{rnd.choice(leaves):04d}"
    for name in sorted(set(calls.values())):
        out.append(f"extern uint32_t {name}(uint32_t);")
    for j in range(a.funcs):
        call = f" x += {calls[j]}(x);" if j in calls else ""
        out.append(f"uint32_t gl{i:04d}_f{j:04d}(uint32_t x) {{ {c_body(rnd, a.body)}{call} return x; }}")
    out.append(f"uint32_t gl{i:04d}_run(uint32_t x) {{\n  uint32_t s = x;")
    out += [f"  s = s * 31u + gl{i:04d}_f{j:04d}(x + {j}u);" for j in range(a.funcs)]
    out.append("  return s;\n}")
    out.append(f'const char gl{i:04d}_name[] = "gl{i:04d}";\n')
    return "\n".join(out), deps


def ext_libs(m, a):
    """Libraries extension module m links: every lib i with i % M == m (each lib once)."""
    return [i for i in range(a.K) if i % a.M == m] if a.K >= a.M else [m % a.K]


def gen_ext(m, a):
    rnd = random.Random(a.seed * 999983 + m)
    libs = ext_libs(m, a)
    targets = [f"gl{i:04d}_f{rnd.randrange(a.funcs):04d}" for i in libs for _ in range(4)]
    nh = max(1, a.funcs // 4)
    out = [f"/* genlibs: extension module gext{m:04d}, links libraries {libs} */",
           "#define PY_SSIZE_T_CLEAN", "#include <Python.h>", "#include <stdint.h>"]
    out += [f"extern uint32_t gl{i:04d}_run(uint32_t);" for i in libs]
    out += [f"extern uint32_t {t}(uint32_t);" for t in sorted(set(targets))]
    for j in range(nh):
        out.append(f"uint32_t gext{m:04d}_h{j:04d}(uint32_t x) {{ {c_body(rnd, a.body)} return x; }}")
    out.append("static uint32_t (*const table[])(uint32_t) = {\n  " + ", ".join(targets) + "\n};")
    run = [f"  s = s * 33u + gl{i:04d}_run(s);" for i in libs]
    run += [f"  s ^= gext{m:04d}_h{j:04d}(s);" for j in range(nh)]
    out.append("static PyObject *run(PyObject *self, PyObject *arg) {\n  (void)self;\n"
               "  uint32_t s = (uint32_t)PyLong_AsUnsignedLongMask(arg);\n"
               "  if (PyErr_Occurred()) return NULL;\n" + "\n".join(run) +
               "\n  return PyLong_FromUnsignedLong(s);\n}")
    out.append("static PyObject *call(PyObject *self, PyObject *args) {\n  (void)self;\n"
               "  unsigned long k, x;\n  if (!PyArg_ParseTuple(args, \"kk\", &k, &x)) return NULL;\n"
               "  return PyLong_FromUnsignedLong(table[k % (sizeof table / sizeof *table)]((uint32_t)x));\n}")
    out.append(f"""static PyMethodDef methods[] = {{
  {{"run", run, METH_O, "call every function of the linked libraries"}},
  {{"call", call, METH_VARARGS, "call(k, x): the k-th library function on x"}},
  {{NULL, NULL, 0, NULL}}
}};
static struct PyModuleDef def = {{ PyModuleDef_HEAD_INIT, "gext{m:04d}", NULL, -1, methods }};
PyMODINIT_FUNC PyInit_gext{m:04d}(void) {{ return PyModule_Create(&def); }}
""")
    return "\n".join(out), libs


def pymod(p):
    return f"gpy.g{p // 10:03d}.m{p:04d}"


def gen_py(p, a):
    rnd = random.Random(a.seed * 99991 + p)
    deps = sorted(rnd.sample(range(p), min(p, 3)))
    nf = max(2, a.funcs // 50)
    out = [f'"""genlibs: pure-Python module {pymod(p)}; imports gext{p % a.M:04d} and {len(deps)} modules."""',
           f"import gext{p % a.M:04d} as ext"]
    out += [f"import {pymod(d)} as dep{k}" for k, d in enumerate(deps)]
    out.append("TABLE = (" + ", ".join(str(rnd.getrandbits(32)) for _ in range(a.funcs // 5)) + ",)")
    for j in range(nf):
        out.append(f"def f{j}(x):\n    x = (x * {rnd.getrandbits(32) | 1} + {rnd.getrandbits(16)}) & {M32}\n"
                   f"    return x ^ (x >> {rnd.randint(1, 31)})")
    out.append(f"class Step{p}:\n    def __init__(self, k):\n        self.k = k\n"
               f"    def __call__(self, x):\n        return (x * 33 + self.k) & {M32}")
    out.append(f"FUNCS = [{', '.join(f'f{j}' for j in range(nf))}, Step{p}({rnd.getrandbits(20)})]")
    deps_sum = " + ".join(f"dep{k}.VALUE" for k in range(len(deps))) or "0"
    out.append(f"def run(x):\n    s = ext.run(x)\n    for k in range({a.calls}):\n"
               f"        s = (s * 31 + ext.call(k, s)) & {M32}\n    for f in FUNCS:\n"
               f"        s = (s * 31 + f(s)) & {M32}\n    return (s + sum(TABLE) + {deps_sum}) & {M32}")
    out.append(f"VALUE = f0({p})\n")
    return "\n".join(out)


DRIVER = '''#!/usr/bin/python3
"""genlibs driver: imports the {P} pure-Python modules and {M} extension modules (which load
{K} shared libraries) of this workload, calls into each and prints one checksum line.
  driver.py [--rerun] [--time]   --rerun: then run itself once more as a child python
"""
import importlib, os, subprocess, sys, time
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "py"), os.path.join(HERE, "ext")]
EXTS = {exts!r}
MODS = {mods!r}

def main():
    t0, s = time.monotonic(), 0
    for name in EXTS:
        s = (s * 1000003 + importlib.import_module(name).run(s)) & {M32}
    for name in MODS:
        s = (s * 1000003 + importlib.import_module(name).run(s)) & {M32}
    print(f"genlibs checksum={{s:08x}} libs={K} exts={{len(EXTS)}} pymods={{len(MODS)}}", flush=True)
    if "--time" in sys.argv:
        print(f"driver: {{time.monotonic() - t0:.3f}} s", file=sys.stderr)
    if "--rerun" in sys.argv:
        args = [a for a in sys.argv[1:] if a != "--rerun"]
        r = subprocess.run([sys.executable, os.path.abspath(__file__)] + args, stdout=subprocess.PIPE, text=True)
        print("rerun: " + r.stdout, end="", flush=True)
        sys.exit(r.returncode)

main()
'''


def gen_makefile(a, libs, exts):
    ext_suffix = sysconfig.get_config_var("EXT_SUFFIX")
    L = lambda i: f"$(OUT)/lib/libgl{i:04d}.so"
    E = lambda m: f"$(OUT)/ext/gext{m:04d}{ext_suffix}"
    out = ["# generated by genlibs.py: make -jN builds the workload into OUT", f"OUT := {a.out}",
           "CC := gcc", "CFLAGS := -O0 -fPIC -w", f"PYINC := -I{sysconfig.get_paths()['include']}",
           f"LIBS := {' '.join(L(i) for i in range(a.K))}", f"EXTS := {' '.join(E(m) for m in range(a.M))}",
           "all: pyc.stamp", "pyc.stamp: $(LIBS) $(EXTS) py.list",
           "\t/usr/bin/python3 -m compileall -q $(OUT)/py && touch $@",
           "gl%.o: gl%.c\n\t$(CC) $(CFLAGS) -c -o $@ $<",
           "gext%.o: gext%.c\n\t$(CC) $(CFLAGS) $(PYINC) -c -o $@ $<"]
    for i, deps in libs:
        need = " ".join(L(d) for d in deps)
        ls = " ".join(f"-lgl{d:04d}" for d in deps)
        out.append(f"{L(i)}: gl{i:04d}.o {need}\n\t@mkdir -p $(@D)\n"
                   f"\t$(CC) -shared -o $@ $< -L$(OUT)/lib -Wl,--no-as-needed {ls} -Wl,-rpath,'$$ORIGIN'")
    for m, ls in exts:
        out.append(f"{E(m)}: gext{m:04d}.o {' '.join(L(i) for i in ls)}\n\t@mkdir -p $(@D)\n"
                   f"\t$(CC) -shared -o $@ $< -L$(OUT)/lib -Wl,--no-as-needed "
                   f"{' '.join(f'-lgl{i:04d}' for i in ls)} -Wl,-rpath,'$$ORIGIN/../lib'")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="the workload tree (keep it out of /tmp)")
    ap.add_argument("--gen", required=True, help="sources, objects and the Makefile")
    ap.add_argument("-K", type=int, default=8, help="shared libraries")
    ap.add_argument("-M", type=int, default=8, help="C extension modules")
    ap.add_argument("-P", type=int, default=None, help="pure-Python modules (default 2*M)")
    ap.add_argument("--funcs", type=int, default=800, help="functions per library")
    ap.add_argument("--body", type=int, default=10, help="statements per function")
    ap.add_argument("--deps", type=int, default=3, help="libraries each library links")
    ap.add_argument("--calls", type=int, default=8, help="ext.call()s per pure module run")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    a.out, a.gen = os.path.abspath(a.out), os.path.abspath(a.gen)
    a.P = 2 * a.M if a.P is None else a.P
    if min(a.K, a.M, a.funcs, a.body) < 1 or a.P < 0 or max(a.K, a.M, a.P, a.funcs) > 9999:
        sys.exit("genlibs: K, M, funcs and body must be 1..9999, P 0..9999")
    params = {k: getattr(a, k) for k in ("K", "M", "P", "funcs", "body", "deps", "calls", "seed", "out")}
    ptext = json.dumps(params, sort_keys=True) + "\n"
    try:
        same = open(os.path.join(a.gen, "params.json")).read() == ptext
    except OSError:
        same = False
    if not same:   # other parameters: start afresh, but never wipe a folder genlibs did not write
        for d, mark in ((a.out, "driver.py"), (a.gen, "params.json")):
            if os.path.isdir(d) and os.listdir(d) and not os.path.exists(os.path.join(d, mark)):
                sys.exit(f"genlibs: {d} exists and was not written by genlibs; remove it or pick another")
            shutil.rmtree(d, ignore_errors=True)
    libs, exts = [], []
    for i in range(a.K):
        text, deps = gen_lib(i, a)
        put(os.path.join(a.gen, f"gl{i:04d}.c"), text)
        libs.append((i, deps))
    for m in range(a.M):
        text, ls = gen_ext(m, a)
        put(os.path.join(a.gen, f"gext{m:04d}.c"), text)
        exts.append((m, ls))
    for g in range((a.P + 9) // 10):
        put(os.path.join(a.out, "py", "gpy", f"g{g:03d}", "__init__.py"), "")
    put(os.path.join(a.out, "py", "gpy", "__init__.py"), '"""genlibs pure-Python package"""\n')
    for p in range(a.P):
        put(os.path.join(a.out, "py", *pymod(p).split(".")) + ".py", gen_py(p, a))
    put(os.path.join(a.gen, "py.list"), "\n".join(pymod(p) for p in range(a.P)) + "\n")
    put(os.path.join(a.out, "driver.py"), DRIVER.format(
        K=a.K, M=a.M, P=a.P, M32=M32, exts=[f"gext{m:04d}" for m in range(a.M)],
        mods=[pymod(p) for p in range(a.P)]))
    put(os.path.join(a.gen, "Makefile"), gen_makefile(a, libs, exts))
    put(os.path.join(a.gen, "params.json"), ptext)


if __name__ == "__main__":
    main()
