#!/usr/bin/env bash
# python.sh — Debian's /usr/bin/python3 importing a broad slice of the stdlib, numpy, a
# python that re-runs itself in a subprocess, and bytecode written into a cached (-c) folder:
# same stdout/stderr/status under collrun as natively, and --stats-file shows the cache
# both filled and served (also across an exec).
. "$(dirname "$0")/lib.sh"
need_collrun
PY=/usr/bin/python3
[ -x $PY ] || { skip all "$PY missing"; finish; }

cat >"$S/stdlib.py" <<'PYEOF'
import sys, os, io, json, email, email.policy, http.client, xml.etree.ElementTree as ET
import sqlite3, decimal, asyncio, unittest, ctypes, ctypes.util, ssl, hashlib, csv
import logging, argparse, subprocess, textwrap, datetime, zoneinfo, locale, sysconfig
import importlib.metadata, pkgutil, glob, shutil, tempfile, zlib, lzma, bz2, tarfile
out = []
p = lambda *a: out.append(" ".join(str(x) for x in a))
p("exe", sys.executable, sys.prefix, sys.version_info[:3])
p("path", json.dumps(sys.path))
msg = email.message_from_string("From: a@b.c\nSubject: hi there\n\nbody\n", policy=email.policy.default)
p("email", msg["subject"], msg.get_content().strip())
p("http", http.client.responses[404], http.client.HTTPConnection("example.invalid", 8080).port)
root = ET.fromstring("<r><i n='1'/><i n='2'/></r>")
p("xml", [i.get("n") for i in root.iter("i")])
db = sqlite3.connect(":memory:"); db.execute("create table t(x)"); db.executemany("insert into t values(?)", [(i,) for i in range(10)])
p("sqlite", sqlite3.sqlite_version, db.execute("select sum(x*x) from t").fetchone())
decimal.getcontext().prec = 30
p("decimal", decimal.Decimal(1) / decimal.Decimal(7))
async def f(n):
    await asyncio.sleep(0)
    return n * 2
async def g():
    return await asyncio.gather(*(f(i) for i in range(5)))
p("asyncio", asyncio.run(g()))
class T(unittest.TestCase):
    def test_a(self): self.assertEqual(1 + 1, 2)
    def test_b(self): self.assertIn("a", "abc")
r = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(unittest.defaultTestLoader.loadTestsFromTestCase(T))
p("unittest", r.testsRun, len(r.failures), len(r.errors))
libc = ctypes.CDLL(ctypes.util.find_library("c"))
p("ctypes", ctypes.util.find_library("c"), ctypes.util.find_library("m"), libc.strlen(b"hello"))
ctx = ssl.create_default_context()
p("ssl", ssl.OPENSSL_VERSION, ctx.verify_mode, sorted(ctx.cert_store_stats().items()))
h = hashlib.sha256()
for name in ("os.py", "json/__init__.py", "email/message.py"):
    with open(os.path.join(os.path.dirname(os.__file__), name), "rb") as fh:
        h.update(fh.read())
p("hashlib", h.hexdigest(), hashlib.md5(b"x").hexdigest())
buf = io.StringIO(); csv.writer(buf).writerows([["a", "b,c"], [1, 2]]); p("csv", repr(buf.getvalue()))
lb = io.StringIO(); lg = logging.getLogger("t"); hd = logging.StreamHandler(lb)
hd.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s")); lg.addHandler(hd); lg.warning("w %d", 3)
p("logging", repr(lb.getvalue()))
ap = argparse.ArgumentParser(prog="x"); ap.add_argument("--n", type=int); ap.add_argument("rest", nargs="*")
p("argparse", ap.parse_args(["--n", "4", "a", "b"]))
p("subprocess", subprocess.run(["/bin/echo", "from", "echo"], capture_output=True, text=True).stdout.strip())
p("datetime", datetime.datetime(2020, 1, 2, 3, 4, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")).isoformat())
p("sysconfig", sysconfig.get_paths()["stdlib"], sysconfig.get_config_var("SOABI"))
p("metadata", sorted(d.metadata["Name"] for d in importlib.metadata.distributions())[:20])
p("pkgutil", len([m for m in pkgutil.iter_modules() if not m.name.startswith("_")]) > 100)
p("glob", sorted(os.path.basename(x) for x in glob.glob(os.path.dirname(os.__file__) + "/json/*.py")))
p("which", shutil.which("ls"), shutil.which("no-such-cmd-x"))
p("compress", zlib.crc32(zlib.compress(b"a" * 1000)), len(lzma.compress(b"a" * 1000)), len(bz2.compress(b"b" * 100)))
p("stat", os.stat("/usr/lib/python3.11/os.py").st_size, os.path.exists("/usr/lib/nonexistent.py"),
  os.access("/usr/bin/python3", os.X_OK), os.readlink("/usr/bin/python3"), os.path.realpath("/lib64/ld-linux-x86-64.so.2"))
p("listdir", sorted(os.listdir("/usr/lib/python3.11/json")))
p("modules", len(sys.modules) > 100, sorted(m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)))
print("\n".join(out))
print("ok")
if sys.argv[1:] == ["spawn"]:  # run this very program again as a child process
    c = subprocess.run([sys.executable, sys.argv[0], "child"], capture_output=True, text=True)
    print("child rc", c.returncode, "err", repr(c.stderr))
    print(c.stdout, end="")
PYEOF

cat >"$S/np.py" <<'PYEOF'
import numpy as np, numpy.linalg, numpy.fft, numpy.random
a = np.arange(1, 17, dtype=np.float64).reshape(4, 4) + 3 * np.eye(4)
print(np.__version__, np.__file__)
print("det", round(float(np.linalg.det(a)), 6), "inv-sum", round(float(np.linalg.inv(a).sum()), 6))
print("fft", np.fft.fft(np.arange(8.0)).real.round(6).tolist())
print("rng", np.random.default_rng(42).integers(0, 100, 10).tolist())
print("matmul", (a @ a.T).trace(), np.sort(np.linalg.eigvalsh(a + a.T)).round(6).tolist())
print("ok")
PYEOF

both stdlib $PY "$S/stdlib.py"
stats stdlib served\>0 filled\>0
# the same with every file copied into memfds, as on a network file system
CR_OPTS=(--data=memfd)
both stdlib-memfd $PY "$S/stdlib.py"
stats stdlib-memfd served\>0 files\>0 bytes\>0
CR_OPTS=()

if $PY -c 'import numpy' 2>/dev/null; then
  both numpy $PY "$S/np.py"
  stats numpy served\>0 filled\>0
else
  skip numpy "python3-numpy not installed"
fi

# Bytecode written into a cached folder (-c) while the job runs: a module rewritten (other
# size) and removed must be seen so by child pythons, exactly as natively.
cat >"$S/pyc.py" <<'PYEOF'
import os, sys, subprocess, importlib
sys.dont_write_bytecode = False
env = dict(os.environ); env.pop("PYTHONDONTWRITEBYTECODE", None)
child = "import sys, os; sys.path.insert(0, os.getcwd()); import mod; print('child', mod.VALUE)"
def run():
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env)
    print(repr(r.stdout), r.stderr.splitlines()[-1:], r.returncode)
sys.path.insert(0, os.getcwd())
with open("mod.py", "w") as f: f.write("VALUE = 1\n")
import mod; print("parent", mod.VALUE, sorted(os.listdir("__pycache__")))
with open("mod.py", "w") as f: f.write("VALUE = 'two, longer'\n")
run(); run()
os.unlink("mod.py"); run()
importlib.invalidate_caches(); del sys.modules["mod"]
try: import mod
except ImportError as e: print("gone:", e)
print(sorted(os.listdir(".")), sorted(os.listdir("__pycache__")))
PYEOF
CR_OPTS=(-c "$S/pyc/work")
both pyc $PY "$S/pyc.py"
CR_OPTS=()

# The same program once alone ("child") and once re-running itself: the child's look-ups
# must come from the cache the parent filled, so filled grows little while served grows.
both single $PY "$S/stdlib.py" child
both spawn $PY "$S/stdlib.py" spawn
grep -q '^child rc 0 ' "$S/spawn/native.out" || fail spawn-native "child python did not run: $(grep -m1 '^child' "$S/spawn/native.out")"
stats spawn served\>0 filled\>0
f1=$(stat_field "$S/single/stats" filled) s1=$(stat_field "$S/single/stats" served)
f2=$(stat_field "$S/spawn/stats" filled) s2=$(stat_field "$S/spawn/stats" served)
if [ -n "$f1" ] && [ -n "$f2" ] && [ "$s2" -gt "$s1" ] && [ "$f2" -lt $((f1 + f1 / 4)) ]; then
  pass cache-shared-by-child
else
  fail cache-shared-by-child "single run filled=$f1 served=$s1, parent+child filled=$f2 served=$s2 (want served up, filled < 1.25x)"
fi
finish
