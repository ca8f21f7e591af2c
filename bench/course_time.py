"""Course time: the wall time of `nbdev-test` over the whole course, per notebook, and the slowest cells.

Runs the test part of the README's test command (`OMP_NUM_THREADS=1 nbdev-test`) with `--timing` and
`--cell-timing-min`, and parses what nbdev prints. Target: the whole course under 4 minutes."""
import os, re, sys, json, shutil, subprocess
from pathlib import Path
import pandas as pd
from _common import ROOT, Timer, append_results, md_table

TARGET_S = 240

def nbdev_test_cmd():
    exe = Path(sys.executable).parent/'nbdev-test'
    exe = str(exe) if exe.exists() else shutil.which('nbdev-test')
    if exe is None: sys.exit("nbdev-test not found: install the project with its dev extra (pip install -e '.[dev]').")
    return [exe, '--timing', '--cell-timing-min', '1']

def cell_text(nb, cell_id):
    "First line of a cell's source (after its directives), to say which cell is slow"
    for c in json.loads((ROOT/'nbs'/nb).read_text())['cells']:
        if c.get('id') == cell_id:
            lines = [l.strip() for l in ''.join(c['source']).splitlines() if l.strip() and not l.startswith('#|')]
            return (lines[0][:70] if lines else '').replace('|', '\\|')
    return '?'

def main():
    import argparse, tempfile
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--warm', action='store_true', help="use fastai's folder as it is, with the digits and the lessons' model already cached "
                   "(default: an empty one, as on a fresh machine)")
    warm = p.parse_args().warm
    home = None if warm else tempfile.TemporaryDirectory()
    env = {**os.environ, 'OMP_NUM_THREADS': '1', **({} if warm else {'FASTAI_HOME': home.name})}
    with Timer() as t: r = subprocess.run(nbdev_test_cmd(), cwd=ROOT, env=env, capture_output=True, text=True)
    if home: home.cleanup()
    out = r.stdout + r.stderr
    if r.returncode: sys.exit(f"nbdev-test failed (exit {r.returncode}); fix the suite before timing it:\n{out[-3000:]}")
    nbs = pd.DataFrame([(m[1], float(m[2])) for m in re.finditer(r'^(\S+\.ipynb): ([\d.]+) secs', out, re.M)], columns=['notebook', 'seconds'])
    cells = pd.DataFrame([(m[1], m[2], float(m[3])) for m in re.finditer(r'^(\S+\.ipynb):(\w+): ([\d.]+)s$', out, re.M)],
                         columns=['notebook', 'cell', 'seconds'])
    nbs = nbs.sort_values('seconds', ascending=False).set_index('notebook')
    cells = cells.sort_values('seconds', ascending=False).head(12).reset_index(drop=True)
    cells['starts with'] = [f"`{cell_text(n, c)}`" for n, c in zip(cells.notebook, cells.cell)]
    cells.index = pd.RangeIndex(1, len(cells)+1, name='#')
    verdict = (f"met ({t.s:.0f} s < {TARGET_S} s)" if t.s < TARGET_S else f"missed by {t.s - TARGET_S:.0f} s ({t.s:.0f} s against {TARGET_S} s)")
    cache = ("fastai's folder as it was (the digits and the lessons' cached model already built)" if warm else
             "an empty fastai folder, as on a fresh machine: the digits dataset and the lessons' model are built during the run")
    body = (f"With {cache}. `OMP_NUM_THREADS=1 nbdev-test --timing --cell-timing-min 1`: **{t.s:.0f} s** wall for {len(nbs)} notebooks "
            f"(sum of notebook times {nbs.seconds.sum():.0f} s; nbdev runs notebooks in parallel). Target under {TARGET_S} s: {verdict}.\n\n"
            f"Per notebook:\n\n{md_table(nbs, '.0f')}\n\nSlowest cells:\n\n{md_table(cells, '.1f')}")
    append_results('Course time (nbdev-test)', 'the course notebooks; their built-in data (no shared data sets)', body)

if __name__ == '__main__': main()
