# install_test.sh — batchmd as a C user gets it: installs the build into a
# temporary prefix (cmake --install), checks the installed files, compiles a
# file that includes only <batchmd/batchmd.h>, builds examples/c_api/relax_md.c
# with find_package(batchmd) (shared and static) and with pkg-config, runs
# each, and checks their output: every system listed once, relaxed, finite
# energies; and the Python package, installed under lib/python3.X/dist-packages,
# imports from there and relaxes a cluster as ASE's FIRE does. Env:
# BATCHMD_BUILD (the build folder), BATCHMD_SOURCE (the repo).
set -u
src=${BATCHMD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BATCHMD_BUILD:-$src/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() { # check "what" command...: counts the command's success
    local what=$1
    shift
    if "$@" >"$tmp/last.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $what"
        sed 's/^/    /' "$tmp/last.log" | tail -20
    fi
}

# relax_md's table: '#' line, header, then one row per system:
# system_id atoms steps_relax converged_relax steps_md energy_eV temperature_K status
sane_output() { # sane_output FILE N_SYSTEMS
    awk -v n="$2" '
        /^#/ || /^system_id/ { next }
        {
            rows++
            id = $1
            if (id in seen || id < 0 || id >= n) { print "system_id " id " repeated or out of range"; bad = 1 }
            seen[id] = 1
            if ($4 != "T") { print "system " id " not relaxed (converged_relax=" $4 ")"; bad = 1 }
            if ($3 < 1 || $3 >= 2000) { print "system " id ": " $3 " FIRE steps"; bad = 1 }
            if ($5 != 500) { print "system " id ": " $5 " md steps, expected 500"; bad = 1 }
            e = $6 + 0
            if ($6 !~ /^-?[0-9]+\.[0-9]+$/ || e >= 0 || e / $2 > -0.01 || e / $2 < -0.1) {
                print "system " id ": energy " $6 " eV for " $2 " atoms is not a bound argon energy"; bad = 1
            }
            if ($7 !~ /^[0-9]+\.[0-9]+$/ || $7 > 200) { print "system " id ": temperature " $7; bad = 1 }
            if ($8 != "done") { print "system " id ": status " $8; bad = 1 }
        }
        END {
            if (rows != n) { print rows " rows, expected " n; bad = 1 }
            exit bad
        }' "$1"
}

prefix=$tmp/prefix
check "cmake --install $build --prefix $prefix" cmake --install "$build" --prefix "$prefix"
pc=$(find "$prefix" -name batchmd.pc | head -1)
libdir=$(dirname "$(dirname "${pc:-$prefix/lib/pkgconfig/x}")")
for f in bin/batchmd include/batchmd/batchmd.h include/batchmd/flow.h; do
    check "installed $f" test -f "$prefix/$f"
done
for f in libbatchmd.so libbatchmd.a pkgconfig/batchmd.pc cmake/batchmd/batchmdConfig.cmake \
    cmake/batchmd/batchmdConfigVersion.cmake cmake/batchmd/batchmdTargets.cmake; do
    check "installed $libdir/$f" test -f "$libdir/$f"
done
check "installed batchmd --version" "$prefix/bin/batchmd" --version
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_PATH=$libdir/pkgconfig

# The public headers stand alone: only the umbrella header, strict C11.
cat >"$tmp/version.c" <<'EOF'
#include <batchmd/batchmd.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    printf("%s\n", bmd_version());
    return strcmp(bmd_version(), BMD_VERSION_STRING) != 0;
}
EOF
check "umbrella header compiles alone (-std=c11 -Wall -Wextra -Wpedantic -Werror)" \
    sh -c "gcc -std=c11 -Wall -Wextra -Wpedantic -Werror '$tmp/version.c' -o '$tmp/version' \$(pkg-config --cflags --libs batchmd)"
check "library version matches the header's" "$tmp/version"
for h in "$prefix"/include/batchmd/*.h; do # and so does each header alone
    printf '#include <batchmd/%s>\n#include <batchmd/%s>\nint main(void) { return 0; }\n' \
        "$(basename "$h")" "$(basename "$h")" >"$tmp/one.c"
    check "<batchmd/$(basename "$h")> compiles alone (and twice)" \
        gcc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -c "$tmp/one.c" -o "$tmp/one.o"
done

ex=$src/examples/c_api
n_file=$(grep -c 'Lattice=\|pbc=' "$ex/structures.extxyz")
run_example() { # run_example NAME BINARY
    check "$1: runs (structures built in code)" sh -c "'$2' >'$tmp/$1.code.out'"
    check "$1: output sane (built in code)" sane_output "$tmp/$1.code.out" 6
    check "$1: runs on structures.extxyz" sh -c "'$2' '$ex/structures.extxyz' >'$tmp/$1.file.out'"
    check "$1: output sane (structures.extxyz)" sane_output "$tmp/$1.file.out" "$n_file"
}

# find_package(batchmd): shared, then static.
for kind in shared static; do
    flag=OFF
    [ $kind = static ] && flag=ON
    check "find_package build ($kind): configure" \
        cmake -S "$ex" -B "$tmp/cm-$kind" -DCMAKE_PREFIX_PATH="$prefix" -DRELAX_MD_STATIC=$flag
    check "find_package build ($kind): build" cmake --build "$tmp/cm-$kind"
    run_example "cmake-$kind" "$tmp/cm-$kind/relax_md"
done
check "static build does not need libbatchmd.so" sh -c "! ldd '$tmp/cm-static/relax_md' | grep -q libbatchmd"

# pkg-config, the one-line build of relax_md.c's comment.
check "pkg-config build" sh -c "gcc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror '$ex/relax_md.c' -o '$tmp/relax_md_pc' \$(pkg-config --cflags --libs batchmd)"
run_example "pkg-config" "$tmp/relax_md_pc"
check "both builds print the same numbers" cmp "$tmp/cmake-shared.code.out" "$tmp/pkg-config.code.out"
# pkg-config --static lists everything libbatchmd.a needs.
check "pkg-config --static build with libbatchmd.a" sh -c "gcc -std=c11 -O2 '$ex/relax_md.c' -o '$tmp/relax_md_pcs' \$(pkg-config --cflags --static --libs batchmd | sed 's/-lbatchmd /-l:libbatchmd.a /')"
check "pkg-config --static build runs" sh -c "'$tmp/relax_md_pcs' >'$tmp/pcs.out' && cmp '$tmp/pcs.out' '$tmp/pkg-config.code.out'"

# The Python package (built when python3-dev is there: build/python/batchmd
# holds _core), installed under lib/python3.X/dist-packages of the prefix:
# Debian's python3 imports it from there alone (not from the build tree or
# the source) and relaxes a small LJ cluster with it, step for step as
# ASE's FIRE with ASE's LennardJones.
if ls "$build"/python/batchmd/_core*.so >/dev/null 2>&1; then
    pyver=$(/usr/bin/python3 -c 'import sys; print("python%d.%d" % sys.version_info[:2])')
    site=$prefix/lib/$pyver/dist-packages
    check "installed $site/batchmd/__init__.py" test -f "$site/batchmd/__init__.py"
    check "installed $site/batchmd/_core (the extension)" sh -c "ls '$site'/batchmd/_core*.so"
    cat >"$tmp/relax.py" <<'EOF'
import os, sys
import numpy as np
from ase.cluster import Icosahedron
from ase.calculators.lj import LennardJones
from ase.optimize import FIRE
import batchmd as bmd

site = sys.argv[1]
assert os.path.realpath(bmd.__file__).startswith(os.path.realpath(site) + os.sep), bmd.__file__
a = Icosahedron("Ar", 2, latticeconstant=5.3)
a.positions += np.random.default_rng(1).normal(0, 0.1, a.positions.shape)
model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
out, = bmd.FIRE(model, fmax=0.01, max_steps=500).run([a]).final
ref = a.copy()
ref.calc = LennardJones(epsilon=0.0104, sigma=3.40, rc=8.5)  # shifted, as shift=True
opt = FIRE(ref, logfile=None)
opt.run(fmax=0.01, steps=500)
assert out.info["converged_fire"] and out.info["steps_fire"] == opt.nsteps > 5, (out.info, opt.nsteps)
assert abs(out.get_potential_energy() - ref.get_potential_energy()) < 1e-9, out.get_potential_energy()
print("relaxed in", opt.nsteps, "steps:", bmd.__version__, bmd.__file__)
EOF
    check "the installed package imports and relaxes (PYTHONPATH=$site /usr/bin/python3)" \
        sh -c "cd '$tmp' && PYTHONPATH='$site' /usr/bin/python3 '$tmp/relax.py' '$site'"
    # A Python model (`model: {type: python}`) with the installed command: it
    # loads libpython and the installed package's extension, the one next to
    # it under the prefix (not the build tree's), and imports batchmd from it.
    mkdir -p "$tmp/py"
    printf '1\nProperties=species:S:1:pos:R:3\nAr 0 0 0\n' >"$tmp/py/in.extxyz"
    cat >"$tmp/py/where.py" <<'EOF'
import numpy as np
import batchmd._core
from batchmd.models import PythonModel
class Free(PythonModel):
    def compute(self, batch):
        return {"energy": np.zeros(batch.n_systems), "forces": np.zeros((len(batch.positions), 3))}
def build(out):
    with open(out, "w") as f:
        f.write(batchmd._core.__file__)
    return Free()
EOF
    printf 'model: {type: python, module: where.py, object: build, params: {out: %s}}\ninput: in.extxyz\nstages: {r: {type: fire}}\n' \
        "$tmp/py/ext.txt" >"$tmp/py/c.yaml"
    check "installed batchmd validate, a Python model" \
        env -u PYTHONPATH -u BATCHMD_PYTHON_EXT "$prefix/bin/batchmd" validate "$tmp/py/c.yaml"
    check "the Python model ran with the installed extension" sh -c "grep -q '^$prefix/' '$tmp/py/ext.txt'"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
