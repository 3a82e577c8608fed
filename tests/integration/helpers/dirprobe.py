# dirprobe.py M — directory calls on a tree on bench/slowfs at M (see dir_listing.sh);
# prints every answer (paths relative to M) so native and collrun runs compare byte for byte.
import ctypes, errno, os, struct, sys
M = sys.argv[1]
D = M + "/pkg"
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_getdents64 = 217

def out(*a):
    print(*a, flush=True)

def rel(p):
    return p.replace(M, "<M>")

def getdents(fd, size, ino=True):
    buf = ctypes.create_string_buffer(size)
    r = libc.syscall(SYS_getdents64, fd, buf, size)
    if r < 0:
        return "-1 " + errno.errorcode[ctypes.get_errno()], []
    recs, off = [], 0
    while off < r:
        d_ino, doff, reclen, typ = struct.unpack_from("<QqHB", buf.raw, off)
        name = buf.raw[off + 19:off + reclen].split(b"\0")[0].decode()
        recs.append("%s ino=%s off=%d reclen=%d type=%d" % (name, d_ino if ino else "-", doff, reclen, typ))
        off += reclen
    return str(r), recs

def read_all(fd, size, ino=True):   # ino=False: files this run made (new inodes each run)
    for _ in range(1000):
        r, recs = getdents(fd, size, ino)
        out("  getdents64(%d) = %s" % (size, r), recs)
        if r == "0" or r.startswith("-1"):
            break

out("listdir", os.listdir(D))
out("scandir", [(e.name, e.inode(), e.is_dir(), e.is_file(), e.is_symlink()) for e in os.scandir(D)])
fd = os.open(D, os.O_RDONLY | os.O_DIRECTORY)
out("getdents64 tiny:", getdents(fd, 1)[0])
read_all(fd, 32)                       # one small record at a time
os.lseek(fd, 0, os.SEEK_SET)
read_all(fd, 64)                       # one or two
os.lseek(fd, 0, os.SEEK_SET)
read_all(fd, 4096)
out("at end again:", getdents(fd, 4096)[0])
# libc's readdir, telldir, seekdir, rewinddir on the same kind of descriptor
class Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64), ("d_reclen", ctypes.c_ushort),
                ("d_type", ctypes.c_ubyte), ("d_name", ctypes.c_char * 256)]
libc.opendir.restype = ctypes.c_void_p
libc.fdopendir.restype = ctypes.c_void_p
libc.readdir.restype = ctypes.POINTER(Dirent)
libc.readdir.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.rewinddir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]
def rd(dp):
    e = libc.readdir(dp)
    return e.contents.d_name.decode() if e else None
dp = libc.opendir(D.encode())
first = [rd(dp) for _ in range(3)]
t = libc.telldir(dp)
nxt = [rd(dp) for _ in range(2)]
libc.seekdir(dp, t)
again = [rd(dp) for _ in range(2)]
libc.rewinddir(dp)
out("readdir", first, "telldir", t, nxt, "after seekdir", again, "after rewinddir", rd(dp))
libc.closedir(dp)
# relative to the directory descriptor
with open(os.open("m1.py", os.O_RDONLY, dir_fd=fd)) as f:
    out("openat m1.py:", f.read().strip())
st = os.stat("m2.py", dir_fd=fd)
out("fstatat m2.py:", oct(st.st_mode), st.st_size, st.st_ino)
try:
    os.stat("missing.py", dir_fd=fd)
except OSError as e:
    out("fstatat missing.py:", errno.errorcode[e.errno])
out("listdir(fd)", os.listdir(fd))
# fchdir, then getcwd and a relative open
here = os.getcwd()
os.fchdir(fd)
out("getcwd after fchdir:", rel(os.getcwd()))
with open("m3.py") as f:
    out("relative open:", f.read().strip())
os.chdir(here)
os.close(fd)
# fchmod on a directory descriptor (the original's mode changes)
W = M + "/w"
fdw = os.open(W + "/perm", os.O_RDONLY | os.O_DIRECTORY)
out("perm before:", oct(os.stat(W + "/perm").st_mode))
os.fchmod(fdw, 0o750)
out("perm after fchmod:", oct(os.stat(W + "/perm").st_mode), oct(os.fstat(fdw).st_mode & 0o7777))
os.close(fdw)
# a file made during the job in a directory already listed
out("grow before:", sorted(os.listdir(W + "/grow")))
open(W + "/grow/new.txt", "w").close()
out("grow after:", sorted(os.listdir(W + "/grow")))
fdg = os.open(W + "/grow", os.O_RDONLY | os.O_DIRECTORY)
read_all(fdg, 4096, ino=False)
os.close(fdg)
# a directory the job writes into and lists over and over
for i in range(3):
    open("%s/scratch/f%d" % (W, i), "w").close()
    out("scratch:", sorted(os.listdir(W + "/scratch")))
